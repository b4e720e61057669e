/** Trackers tab: every live instance, who is Master, and the time since its last keepalive. */
import { Box, Text } from 'ink';
import type { InstanceRow, Status } from '../node/host.js';
import { age } from './format.js';

export function TrackersTab({ self, status, live, now }: { self: number; status: Status; live: readonly InstanceRow[]; now: number }) {
  const rows = [
    ...(status.running ? [{ id: self, role: status.role, last: 'this instance', epoch: status.epoch }] : []),
    ...live.map((e) => ({ id: e.id, role: e.role, last: age(now - e.lastSeen), epoch: e.epoch })),
  ].sort((a, b) => a.id - b.id);
  return (
    <Box flexDirection="column">
      <Text bold>
        {'ID'.padEnd(8)}
        {'Role'.padEnd(12)}
        {'Epoch'.padEnd(8)}Last keepalive
      </Text>
      {rows.length === 0 ? <Text color="gray">no live instance (the tracker is stopped)</Text> : null}
      {rows.map((r) => (
        <Text key={r.id} color={r.role === 'master' ? 'green' : undefined}>
          {String(r.id).padEnd(8)}
          {(r.role === 'master' ? 'Master' : r.role === 'slave' ? 'Slave' : r.role).padEnd(12)}
          {String(r.epoch).padEnd(8)}
          {r.last}
        </Text>
      ))}
      <Box marginTop={1}>
        <Text color="gray">{live.length + (status.running ? 1 : 0)} live instance(s); refreshed automatically; not persisted</Text>
      </Box>
    </Box>
  );
}
