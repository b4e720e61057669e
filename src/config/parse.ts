/** Command-line flags → a frozen Config, or one clear error line. Nothing here throws. */
import { parseBrokerList } from '../bus/broker-url.js';
import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { OPTIONS, type IntFlag } from './options.js';
import { resolveConfig } from './resolve.js';
import type { ConfigError, ConfigResult } from './types.js';

type Checked<T> = { readonly ok: true; readonly value: T } | ConfigError;
const fail = (error: string): ConfigError => ({ ok: false, error });

const parseFlags = (args: string[]) => parseArgs({ args, strict: true, allowPositionals: false, options: OPTIONS });
/** The flags' values with the types parseArgs infers from the option table. */
type Values = ReturnType<typeof parseFlags>['values'];

/** parseArgs throws on an unknown flag or a missing value: its first line becomes the error. */
function read(argv: readonly string[]): { ok: true; values: Values } | ConfigError {
  try {
    return { ok: true, values: parseFlags([...argv]).values };
  } catch (e) {
    return fail((e instanceof Error ? e.message : String(e)).split('\n')[0]!);
  }
}

/** A flag's text read into an integer within the bounds the option table gives it. */
function int(name: IntFlag, raw: string): Checked<number> {
  const [min, max] = OPTIONS[name].range;
  if (!/^\d+$/.test(raw)) return fail(`--${name} must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) return fail(`--${name} must be between ${min} and ${max}, got ${n}`);
  return { ok: true, value: n };
}
/** Same, for a flag that may be left out. */
const optionalInt = (name: IntFlag, raw: string | undefined): Checked<number | undefined> =>
  raw === undefined ? { ok: true, value: undefined } : int(name, raw);

/** An IP address (v4 or v6) given to a flag that may be left out. */
function address(name: 'http-host' | 'metrics-host', raw: string | undefined): Checked<string | undefined> {
  if (raw !== undefined && isIP(raw) === 0) return fail(`--${name} must be an IP address, got "${raw}"`);
  return { ok: true, value: raw };
}

const MULTICAST = /^2(2[4-9]|3\d)\./;
const TOPIC = /^[\w.-]{1,100}$/;

export function parseConfig(argv: readonly string[], isTty: boolean): ConfigResult {
  const flags = read(argv);
  if (!flags.ok) return flags;
  const { values } = flags;
  if (values.help) return { ok: 'help' };
  if (values.id === undefined) return fail('--id is required (a positive integer unique in the cluster)');
  const id = int('id', values.id);
  if (!id.ok) return id;
  const port = optionalInt('port', values.port);
  if (!port.ok) return port;
  const intervalS = optionalInt('interval', values.interval);
  if (!intervalS.ok) return intervalS;
  const mirrorLagMs = optionalInt('mirror-lag', values['mirror-lag']);
  if (!mirrorLagMs.ok) return mirrorLagMs;
  const batchMs = optionalInt('batch-ms', values['batch-ms']);
  if (!batchMs.ok) return batchMs;
  const peerTtlS = optionalInt('peer-ttl', values['peer-ttl']);
  if (!peerTtlS.ok) return peerTtlS;
  const clusterSize = optionalInt('cluster-size', values['cluster-size']);
  if (!clusterSize.ok) return clusterSize;
  const heartbeatMs = optionalInt('heartbeat', values.heartbeat);
  if (!heartbeatMs.ok) return heartbeatMs;
  const voteTimeoutMs = optionalInt('vote-timeout', values['vote-timeout']);
  if (!voteTimeoutMs.ok) return voteTimeoutMs;
  const rateLimit = optionalInt('rate-limit', values['rate-limit']);
  if (!rateLimit.ok) return rateLimit;
  const httpPort = optionalInt('http-port', values['http-port']);
  if (!httpPort.ok) return httpPort;
  const metricsPort = optionalInt('metrics-port', values['metrics-port']);
  if (!metricsPort.ok) return metricsPort;
  const httpHost = address('http-host', values['http-host']);
  if (!httpHost.ok) return httpHost;
  const metricsHost = address('metrics-host', values['metrics-host']);
  if (!metricsHost.ok) return metricsHost;
  const { broker, iface, group, host, topic } = values;
  const brokers = broker === undefined ? undefined : parseBrokerList(broker);
  if (brokers && !brokers.ok) {
    return fail(`--broker must be stomp://host:port or ws://host:port/path URLs separated by commas (${brokers.error}), got "${broker}"`);
  }
  if (iface !== undefined && isIP(iface) !== 4) return fail(`--iface must be an IPv4 address, got "${iface}"`);
  if (group !== undefined && (!MULTICAST.test(group) || isIP(group) !== 4))
    return fail(`--group must be an IPv4 multicast address, got "${group}"`);
  if (host !== undefined && isIP(host) === 0) return fail(`--host must be an IP address, got "${host}"`);

  const config = resolveConfig({
    id: id.value,
    headless: values.headless === true || !isTty,
    network: { host, port: port.value, group, iface },
    cluster: {
      broker,
      topic,
      heartbeatMs: heartbeatMs.value,
      voteTimeoutMs: voteTimeoutMs.value,
      clusterSize: clusterSize.value,
      batchMs: batchMs.value,
      secretFile: values['secret-file'],
      brokerCredentials: values['broker-credentials'],
      brokerCa: values['broker-ca'],
    },
    storage: { db: values.db, torrents: values.torrents, mirrorLagMs: mirrorLagMs.value },
    policy: {
      intervalS: intervalS.value,
      peerTtlS: peerTtlS.value,
      rateLimit: rateLimit.value,
      trustIpField: values['trust-ip-field'] === true,
      allowList: values['allow-list'],
      denyList: values['deny-list'],
    },
    http: { port: httpPort.value, host: httpHost.value, metricsPort: metricsPort.value, metricsHost: metricsHost.value },
  });

  // Checks that need the derived values (a wildcard --iface also makes the cluster's default --host a wildcard).
  const { network, cluster } = config;
  if (cluster.broker && (network.host === '0.0.0.0' || network.host === '::')) {
    return fail('--host must be a unicast address in a cluster (the service address), not a wildcard');
  }
  if (!cluster.broker && cluster.clusterSize > 1)
    return fail('--cluster-size above 1 needs --broker (a lone instance could never reach a majority)');
  if (!TOPIC.test(cluster.topic)) return fail(`--topic must be letters, digits, '.', '-' or '_', got "${cluster.topic}"`);
  return { ok: true, config };
}
