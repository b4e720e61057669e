/** Config tab: addresses, ports, ID, state, and the Start/Stop and simulate-failure controls. */
import { Box, Text } from 'ink';
import type { ClusterConfig, NetworkConfig, StorageConfig } from '../config/index.js';
import { DOWN_AFTER_INTERVALS } from '../domain/timing.js';
import type { Status } from '../node/host.js';

/** The parts of the Config the tab shows (a whole Config fits). */
export type UiConfig = {
  readonly id: number;
  readonly network: Pick<NetworkConfig, 'host' | 'port' | 'group' | 'iface'>;
  readonly cluster: Pick<ClusterConfig, 'broker' | 'brokers' | 'heartbeatMs'>;
  readonly storage: Pick<StorageConfig, 'db'>;
};

/** Lines of the tab besides the log lines: seven settings, the controls, the log's title, three blank lines. */
const FIXED_LINES = 11;

export function ConfigTab({
  config,
  status,
  logs,
  height,
}: {
  config: UiConfig;
  status: Status;
  logs: readonly string[];
  /** Lines the tab may fill: the most recent log lines that fit are shown. */
  height: number;
}) {
  const row = (label: string, value: string) => (
    <Text key={label} wrap="truncate-end">
      <Text color="gray">{label.padEnd(18)}</Text>
      {value}
    </Text>
  );
  const { host, port, group, iface } = config.network;
  const { broker, brokers, heartbeatMs } = config.cluster;
  // Which broker of the failover list this instance is on now.
  const brokerText =
    brokers.length > 1
      ? `on ${status.broker ?? 'none yet'} of ${brokers.join(', ')}`
      : `${broker} (${status.broker ? 'connected' : 'not connected'})`;
  const state = !status.running ? 'stopped' : status.cut ? `cut off (simulated failure), ${status.role}` : status.role;
  return (
    <Box flexDirection="column">
      {row('Instance ID', String(config.id))}
      {row('Peer UDP', broker ? `${host}:${port} (service address, held by the Master)` : `${host}:${port}`)}
      {row('Multicast group', group ? `${group}:${port} on ${iface}` : 'off (single instance)')}
      {row('Broker', broker ? brokerText : 'none: in-process bus (single instance)')}
      {row('Keepalive', `${heartbeatMs} ms (down after ${DOWN_AFTER_INTERVALS * heartbeatMs} ms)`)}
      {row('Repository', config.storage.db)}
      <Text wrap="truncate-end">
        <Text color="gray">{'State'.padEnd(18)}</Text>
        <Text color={status.running ? (status.cut ? 'red' : 'green') : 'yellow'}>{state}</Text>
        {status.running && status.epoch > 0 ? ` (epoch ${status.epoch}, master ${status.master ?? '?'})` : ''}
      </Text>
      {status.error ? row('Error', status.error) : null}
      <Box marginTop={1} flexDirection="column">
        <Text wrap="truncate-end">
          [s] {status.running ? 'Stop' : 'Start'} the tracker [f]{' '}
          {status.cut ? 'End simulated failure (reconnect)' : 'Simulate a lost connection'}
        </Text>
      </Box>
      <Box marginTop={1} flexDirection="column">
        <Text color="gray">Recent log</Text>
        {logs.slice(Math.max(0, logs.length - Math.max(0, height - FIXED_LINES - (status.error ? 1 : 0)))).map((l, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: the list is replaced whole on every line; lines have no identity
          <Text key={i} wrap="truncate-end">
            {l}
          </Text>
        ))}
      </Box>
    </Box>
  );
}
