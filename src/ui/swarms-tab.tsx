/**
 * Swarms tab: every active swarm (name, size, seeders, leechers, completed), a page at a time; Enter shows the
 * selected swarm's first peers (client, ID, ip:port, downloaded, left) and how many peers each client has. Columns fit
 * the terminal's width: names are cut with `…`, and on narrow terminals the less important columns leave first.
 */
import { Box, Text } from 'ink';
import type { PeerView, SwarmRow } from '../node/host.js';
import { bytes, type Column, clip, fitColumns, tableHeader, tableLine } from './format.js';

export const PAGE = 12;

type SwarmKey = 'name' | 'size' | 'seeders' | 'leechers' | 'done';
/** The Swarms tab's columns; on a narrow terminal Done leaves first, then Size, then Leechers. */
export const SWARM_COLUMNS: readonly Column<SwarmKey>[] = [
  { key: 'name', title: 'Content', width: 16, max: 64 },
  { key: 'size', title: 'Size', width: 10, align: 'right', drop: 2 },
  { key: 'seeders', title: 'Seeders', width: 7, align: 'right' },
  { key: 'leechers', title: 'Leechers', width: 8, align: 'right', drop: 1 },
  { key: 'done', title: 'Done', width: 6, align: 'right', drop: 3 },
];

type PeerKey = 'client' | 'peerId' | 'address' | 'downloaded' | 'left';
const PEER_COLUMNS: readonly Column<PeerKey>[] = [
  { key: 'client', title: 'Client', width: 18, max: 20 },
  { key: 'peerId', title: 'Peer ID', width: 9, max: 20, drop: 3, grow: 2 },
  // Spare width goes to the address before the raw peer ID: IPv6 addresses are cut in the middle, port kept.
  { key: 'address', title: 'Address', width: 21, max: 30, grow: 1, cut: 'middle' },
  { key: 'downloaded', title: 'Downloaded', width: 10, align: 'right', drop: 2 },
  { key: 'left', title: 'Left', width: 10, align: 'right', drop: 1 },
];

/** Lines of the peers view besides the peer rows (header and selected swarm, counter, title, clients, header). */
const PEERS_CHROME = 7;

export function SwarmsTab({
  swarms,
  selected,
  peers,
  open,
  width,
  height,
}: {
  swarms: readonly SwarmRow[];
  selected: number;
  peers: PeerView;
  open: boolean;
  /** Columns and lines the tab may fill. */
  width: number;
  height: number;
}) {
  const first = Math.floor(selected / PAGE) * PAGE;
  const chosen = swarms[selected];
  // With the peers open, the list shrinks to the selected swarm so the peers fit below it.
  const shown = open && chosen ? [chosen] : swarms.slice(first, first + PAGE);
  const columns = fitColumns(SWARM_COLUMNS, width - 2);
  const peerColumns = fitColumns(PEER_COLUMNS, width - 2);
  const peerRows = Math.max(1, Math.min(PAGE, height - PEERS_CHROME - 1));
  const clients = peers.clients.map((c) => `${c.name} ${c.count}`).join(' · ');
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        {'  '}
        {tableHeader(columns)}
      </Text>
      {swarms.length === 0 ? <Text color="gray"> no active swarm yet</Text> : null}
      {shown.map((s) => {
        const on = s === chosen;
        return (
          <Text key={s.infoHash} inverse={on} wrap="truncate-end">
            {on ? '> ' : '  '}
            {tableLine(columns, {
              name: s.name,
              size: bytes(s.size),
              seeders: String(s.seeders),
              leechers: String(s.leechers),
              done: String(s.completed),
            })}
          </Text>
        );
      })}
      <Text color="gray" wrap="truncate-end">
        swarm {swarms.length === 0 ? 0 : selected + 1} of {swarms.length}, page {Math.floor(selected / PAGE) + 1} of{' '}
        {Math.max(1, Math.ceil(swarms.length / PAGE))}
      </Text>
      {open && chosen ? (
        <Box flexDirection="column" marginTop={1}>
          <Text bold wrap="truncate-end">
            {clip(`Peers of ${chosen.name === chosen.infoHash ? chosen.infoHash : `${chosen.name} (${chosen.infoHash})`}`, width)}
          </Text>
          <Text wrap="truncate-end">
            {clip(`${peers.total} peer${peers.total === 1 ? '' : 's'}${clients ? `: ${clients}` : ''}`, width)}
          </Text>
          <Text bold wrap="truncate-end">
            {'  '}
            {tableHeader(peerColumns)}
          </Text>
          {peers.rows.slice(0, peerRows).map((p) => (
            <Text key={p.peerId + p.address} wrap="truncate-end">
              {'  '}
              {tableLine(peerColumns, {
                client: p.client,
                peerId: p.peerId,
                address: p.address,
                downloaded: bytes(p.downloaded),
                left: bytes(p.left),
              })}
            </Text>
          ))}
          {peers.total > peerRows ? <Text color="gray"> … and {peers.total - peerRows} more</Text> : null}
        </Box>
      ) : null}
    </Box>
  );
}
