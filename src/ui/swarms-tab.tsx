/**
 * Swarms tab: every active swarm (name, size, seeders, leechers), a page at a time; Enter shows the selected
 * swarm's peers (ID, ip:port, downloaded, left). Lists are paged so thousands of rows stay usable.
 */
import { Box, Text } from 'ink';
import type { PeerRow, SwarmRow } from '../node/host.js';
import { bytes, cut } from './format.js';

export const PAGE = 12;

export function SwarmsTab({
  swarms,
  selected,
  peers,
  open,
}: {
  swarms: readonly SwarmRow[];
  selected: number;
  peers: readonly PeerRow[];
  open: boolean;
}) {
  const first = Math.floor(selected / PAGE) * PAGE;
  const page = swarms.slice(first, first + PAGE);
  const chosen = swarms[selected];
  return (
    <Box flexDirection="column">
      <Text bold>
        {' '}
        {cut('Content', 42)} {'Size'.padStart(10)} {'Seeders'.padStart(8)} {'Leechers'.padStart(9)} {'Done'.padStart(6)}
      </Text>
      {swarms.length === 0 ? <Text color="gray"> no active swarm yet</Text> : null}
      {page.map((s, i) => (
        <Text key={s.infoHash} inverse={first + i === selected}>
          {first + i === selected ? '> ' : '  '}
          {cut(s.name, 42)} {bytes(s.size).padStart(10)} {String(s.seeders).padStart(8)} {String(s.leechers).padStart(9)}{' '}
          {String(s.completed).padStart(6)}
        </Text>
      ))}
      <Text color="gray">
        swarm {swarms.length === 0 ? 0 : selected + 1} of {swarms.length}, page {Math.floor(selected / PAGE) + 1} of{' '}
        {Math.max(1, Math.ceil(swarms.length / PAGE))}
      </Text>
      {open && chosen ? (
        <Box flexDirection="column" marginTop={1}>
          <Text bold>Peers of {chosen.name === chosen.infoHash ? chosen.infoHash : `${chosen.name} (${chosen.infoHash})`}</Text>
          <Text bold>
            {' '}
            {cut('Peer ID', 22)} {cut('Address', 24)} {'Downloaded'.padStart(11)} {'Left'.padStart(11)}
          </Text>
          {peers.slice(0, PAGE).map((p) => (
            <Text key={p.peerId + p.address}>
              {'  '}
              {cut(p.peerId, 22)} {cut(p.address, 24)} {bytes(p.downloaded).padStart(11)} {bytes(p.left).padStart(11)}
            </Text>
          ))}
          {peers.length > PAGE ? <Text color="gray"> … and {peers.length - PAGE} more</Text> : null}
        </Box>
      ) : null}
    </Box>
  );
}
