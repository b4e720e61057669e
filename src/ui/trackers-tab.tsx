/**
 * Trackers tab: every instance this one knows, who is Master, the time since its last keepalive; instances that
 * went down stay, greyed, with when they went down and the role and epoch they last had, until they return.
 * An instance taking a state transfer shows how far it is (`syncing 45%`), here and on its Master, and a line
 * under the table says how many records of how many. Below, sparklines of the last minute: requests per second (UDP, HTTP), commit latency, live instances.
 */
import { Box, Text } from 'ink';
import type { Sample } from '../domain/rates.js';
import type { InstanceRow, Status, TransferProgress, TransferView } from '../node/host.js';
import { age, amount, type Column, clock, fitColumns, sparkline, tableHeader, tableLine } from './format.js';

type Key = 'id' | 'role' | 'epoch' | 'last';
const COLUMNS: readonly Column<Key>[] = [
  { key: 'id', title: 'ID', width: 7 },
  { key: 'role', title: 'Role', width: 11 },
  { key: 'epoch', title: 'Epoch', width: 7 },
  { key: 'last', title: 'Last keepalive', width: 14, max: Number.POSITIVE_INFINITY },
];

const CHARTS: readonly { readonly label: string; readonly pick: (s: Sample) => number | null }[] = [
  { label: 'UDP req/s', pick: (s) => s.udp },
  { label: 'HTTP req/s', pick: (s) => s.http },
  { label: 'Commit ms', pick: (s) => s.commitMs },
  { label: 'Live', pick: (s) => s.live },
];
const LABEL = 11;
const VALUE = 6;
/** Lines the charts take: a blank line, a title, one line per chart. */
const CHART_LINES = 2 + CHARTS.length;

const roleName = (role: string): string => (role === 'master' ? 'Master' : role === 'slave' ? 'Slave' : role);

export function TrackersTab({
  self,
  status,
  live,
  now,
  charts = [],
  rejected = {},
  transfers = { receiving: null, sending: [] },
  width,
  height,
}: {
  self: number;
  status: Status;
  live: readonly InstanceRow[];
  now: number;
  charts?: readonly Sample[];
  /** Cluster messages refused on arrival, by reason (bad-tag, replayed, …). */
  rejected?: Readonly<Partial<Record<string, number>>>;
  transfers?: TransferView;
  /** Columns and lines the tab may fill. */
  width: number;
  height: number;
}) {
  const rows = [
    ...(status.running
      ? [{ id: self, role: withProgress(status.role, transfers.receiving), last: 'this instance', epoch: status.epoch, down: false }]
      : []),
    ...live.map((e) => ({
      id: e.id,
      role: withProgress(e.role, transfers.sending.find((t) => t.peer === e.id) ?? null),
      epoch: e.epoch,
      down: e.down !== null,
      last: e.down === null ? age(now - e.lastSeen) : `down since ${clock(e.down)} (${age(now - e.down)})`,
    })),
  ].sort((a, b) => a.id - b.id);
  const up = rows.filter((r) => !r.down).length;
  const moving = transferLines(transfers);
  const columns = fitColumns(COLUMNS, width);
  // The header, the rows, a blank line and the summary; the charts only when they fit below.
  const withCharts = height >= rows.length + 3 + moving.length + CHART_LINES;
  const room = Math.max(1, height - 3 - moving.length - (withCharts ? CHART_LINES : 0));
  const listed = rows.length > room ? rows.slice(0, room - 1) : rows;
  const spark = Math.min(60, width - LABEL - VALUE - 2);
  const last = charts.at(-1);
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        {tableHeader(columns)}
      </Text>
      {rows.length === 0 ? <Text color="gray">no live instance (the tracker is stopped)</Text> : null}
      {listed.map((r) => (
        <Text key={r.id} color={r.down ? 'gray' : r.role === 'master' ? 'green' : undefined} wrap="truncate-end">
          {tableLine(columns, { id: String(r.id), role: roleName(r.role), epoch: String(r.epoch), last: r.last })}
        </Text>
      ))}
      {listed.length < rows.length ? <Text color="gray">… and {rows.length - listed.length} more</Text> : null}
      {moving.map((line) => (
        <Text key={line} color="yellow" wrap="truncate-end">
          {line}
        </Text>
      ))}
      <Box marginTop={1}>
        <Text color="gray" wrap="truncate-end">
          {up} live instance(s){rows.length > up ? `, ${rows.length - up} down` : ''}; {refusedText(rejected)}; refreshed automatically
        </Text>
      </Box>
      {withCharts && spark >= 10 ? (
        <Box marginTop={1} flexDirection="column">
          <Text color="gray" wrap="truncate-end">
            Last minute, one sample a second{status.running ? '' : ' (stopped: not sampling)'}
          </Text>
          {CHARTS.map((c) => {
            const values = charts.map(c.pick);
            return (
              <Text key={c.label} wrap="truncate-end">
                <Text color="gray">{c.label.padEnd(LABEL)}</Text> <Text color="cyan">{sparkline(values, spark)}</Text>{' '}
                {amount(last ? c.pick(last) : null).padStart(VALUE)}
              </Text>
            );
          })}
        </Box>
      ) : null}
    </Box>
  );
}

const percent = (t: TransferProgress): string => (t.total > 0 ? `${Math.min(99, Math.floor((t.records * 100) / t.total))}%` : '…');

/** `syncing 45%` while a transfer to or from that instance is under way. */
function withProgress(role: string, t: TransferProgress | null): string {
  return role === 'syncing' && t ? `syncing ${percent(t)}` : role;
}

/** One line per transfer under way: what, with whom, records of the total expected. */
function transferLines(v: TransferView): string[] {
  const what = (t: TransferProgress): string =>
    `${t.kind === 'log' ? 'rounds from the log' : 'snapshot'}: ${amount(t.records)} of ${amount(t.total)} records (${percent(t)})`;
  const lines = v.sending.map((t) => `sending instance ${t.peer} its ${what(t)}`);
  if (v.receiving)
    lines.unshift(`receiving ${v.receiving.peer === null ? 'state' : `from instance ${v.receiving.peer}`}: ${what(v.receiving)}`);
  return lines;
}

/** Refused cluster messages by reason, only the reasons seen (`bad-tag` → `bad tag 3`). */
function refusedText(rejected: Readonly<Partial<Record<string, number>>>): string {
  const seen = Object.entries(rejected).filter(([, n]) => (n ?? 0) > 0);
  if (seen.length === 0) return 'no cluster message refused';
  return `refused: ${seen.map(([r, n]) => `${r.replaceAll('-', ' ')} ${n}`).join(' · ')}`;
}
