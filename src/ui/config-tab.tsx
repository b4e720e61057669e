/** Config tab: addresses, ports, ID, state, and the Start/Stop and simulate-failure controls. */
import { Box, Text } from 'ink';
import { DOWN_AFTER_INTERVALS } from '../domain/timing.js';
import type { Status } from '../host.js';

export type UiConfig = {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly group: string | undefined;
  readonly iface: string;
  readonly broker: string | undefined;
  readonly db: string;
  readonly heartbeatMs: number;
};

export function ConfigTab({ config, status, logs }: { config: UiConfig; status: Status; logs: readonly string[] }) {
  const row = (label: string, value: string) => (
    <Text key={label}>
      <Text color="gray">{label.padEnd(18)}</Text>
      {value}
    </Text>
  );
  const state = !status.running ? 'stopped' : status.cut ? `cut off (simulated failure), ${status.role}` : status.role;
  return (
    <Box flexDirection="column">
      {row('Instance ID', String(config.id))}
      {row('Peer UDP', config.broker ? `${config.host}:${config.port} (service address, held by the Master)` : `${config.host}:${config.port}`)}
      {row('Multicast group', config.group ? `${config.group}:${config.port} on ${config.iface}` : 'off (single instance)')}
      {row('Broker', config.broker ?? 'none: in-process bus (single instance)')}
      {row('Keepalive', `${config.heartbeatMs} ms (down after ${DOWN_AFTER_INTERVALS * config.heartbeatMs} ms)`)}
      {row('Repository', config.db)}
      <Text>
        <Text color="gray">{'State'.padEnd(18)}</Text>
        <Text color={status.running ? (status.cut ? 'red' : 'green') : 'yellow'}>{state}</Text>
        {status.running && status.epoch > 0 ? ` (epoch ${status.epoch}, master ${status.master ?? '?'})` : ''}
      </Text>
      {status.error ? row('Error', status.error) : null}
      <Box marginTop={1} flexDirection="column">
        <Text>
          [s] {status.running ? 'Stop' : 'Start'} the tracker   [f] {status.cut ? 'End simulated failure (reconnect)' : 'Simulate a lost connection'}
        </Text>
      </Box>
      <Box marginTop={1} flexDirection="column">
        <Text color="gray">Recent log</Text>
        {logs.map((l, i) => (
          <Text key={i} wrap="truncate-end">{l}</Text>
        ))}
      </Box>
    </Box>
  );
}
