/** Command-line flags → a frozen Config, or one clear error line. */
import { parseArgs } from 'node:util';
import { isIP } from 'node:net';

export type Config = {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly db: string;
  readonly intervalS: number;
  readonly peerTtlS: number;
  readonly batchMs: number;
  readonly headless: boolean;
  /** Cluster: broker URL (stomp://host:port or ws://…); absent = a lone instance on the in-process bus. */
  readonly broker: string | undefined;
  /** Multicast group every instance listens on (cluster default 239.192.0.1). */
  readonly group: string | undefined;
  readonly iface: string;
  readonly heartbeatMs: number;
  readonly topic: string;
  readonly voteTimeoutMs: number;
  /** Instances the cluster is built for: a commit needs OK from more than half of them (0: of the live ones). */
  readonly clusterSize: number;
  /** Folder of .torrent files registered at start (names and sizes for the UI). */
  readonly torrents: string | undefined;
  /** File holding the cluster's shared secret (messages are authenticated with it); also TRACKER_CLUSTER_SECRET. */
  readonly secretFile: string | undefined;
  /** File with the broker login and passcode on two lines; also TRACKER_BROKER_LOGIN / TRACKER_BROKER_PASSCODE. */
  readonly brokerCredentials: string | undefined;
  /** Info-hash allow and deny lists (files; reloaded on SIGHUP and when they change). */
  readonly allowList: string | undefined;
  readonly denyList: string | undefined;
  /** Requests per second per client address; 0 = unlimited. */
  readonly rateLimit: number;
  readonly trustIpField: boolean;
  /** HTTP tracker (BEP 3/23/7/48) on this port, held by the Master; absent: no HTTP. */
  readonly httpPort: number | undefined;
  readonly httpHost: string;
  /** Prometheus /metrics on this port on every instance; absent: only on the HTTP tracker port. */
  readonly metricsPort: number | undefined;
  readonly metricsHost: string;
};

export const USAGE = `Usage: node dist/main.js --id N [options]

  --id N            this instance's ID (positive integer, unique in the cluster; required)
  --host ADDR       UDP address to bind for peers (default 0.0.0.0)
  --port P          UDP port (default 6969)
  --db PATH         SQLite file (default data/tracker-<id>.sqlite); emptied at shutdown
  --interval S      announce interval told to clients, seconds (default 1800)
  --peer-ttl S      a peer silent this long is dropped, seconds (default 2 × interval)
  --batch-ms MS     longest wait to group announces into one commit (default 2)
  --broker URL      join a cluster through this broker (stomp://127.0.0.1:61613, or ws://…);
                    without it the instance runs alone on the in-process bus
  --group ADDR      multicast group to listen on (default 239.192.0.1 in a cluster; off when alone)
  --iface ADDR      interface address for the group (default 127.0.0.1)
  --heartbeat MS    keepalive interval; silent for 2 intervals = down (default 1000)
  --vote-timeout MS a missing vote counts as ERROR after this long (default 500)
  --cluster-size N  instances the cluster is built for: a change needs OK from more than N/2 of them, so a
                    minority cut off by a partition never commits (default 0: a majority of the live ones)
  --topic NAME      broker topic of the cluster (default udp-tracker)
  --torrents DIR    register every .torrent in DIR (content names and sizes; bad files are skipped)
  --secret-file F   shared secret authenticating cluster messages (or env TRACKER_CLUSTER_SECRET)
  --broker-credentials F  broker login and passcode, one per line (or env TRACKER_BROKER_LOGIN and
                    TRACKER_BROKER_PASSCODE); never on the command line
  --allow-list F    serve only the info hashes listed in F (40 hex digits a line); reloaded on SIGHUP or change
  --deny-list F     refuse the info hashes listed in F; reloaded on SIGHUP or change
  --rate-limit N    at most N requests per second per client address (default 0: unlimited)
  --trust-ip-field  use the announce's ip field instead of the sender's address (off: lets anyone inject peers)
  --http-port P     also serve the HTTP tracker (GET /announce, /scrape, /metrics) on this TCP port (Master only)
  --http-host ADDR  address for the HTTP tracker (default: --host)
  --metrics-port P  Prometheus /metrics on this TCP port, on every instance (0: any free port, logged)
  --metrics-host A  address for /metrics (default 127.0.0.1)
  --headless        no terminal UI (automatic when stdout is not a terminal)
  --help            this text
`;

export type ConfigResult = { ok: true; config: Config } | { ok: false; error: string } | { ok: 'help' };

const int = (name: string, raw: string | undefined, def: number, min: number, max: number): number | string => {
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw)) return `--${name} must be an integer, got "${raw}"`;
  const n = Number(raw);
  if (n < min || n > max) return `--${name} must be between ${min} and ${max}, got ${n}`;
  return n;
};

export function parseConfig(argv: readonly string[], isTty: boolean): ConfigResult {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        id: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, db: { type: 'string' },
        interval: { type: 'string' }, 'peer-ttl': { type: 'string' }, 'batch-ms': { type: 'string' },
        headless: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
        broker: { type: 'string' }, group: { type: 'string' }, iface: { type: 'string' }, heartbeat: { type: 'string' },
        'vote-timeout': { type: 'string' }, topic: { type: 'string' }, torrents: { type: 'string' },
        'secret-file': { type: 'string' }, 'broker-credentials': { type: 'string' },
        'allow-list': { type: 'string' }, 'deny-list': { type: 'string' }, 'rate-limit': { type: 'string' },
        'trust-ip-field': { type: 'boolean' }, 'cluster-size': { type: 'string' },
        'http-port': { type: 'string' }, 'http-host': { type: 'string' }, 'metrics-port': { type: 'string' }, 'metrics-host': { type: 'string' },
      },
    }));
  } catch (e) {
    return { ok: false, error: (e as Error).message.split('\n')[0]! };
  }
  if (values.help) return { ok: 'help' };
  if (values.id === undefined) return { ok: false, error: '--id is required (a positive integer unique in the cluster)' };
  const id = int('id', values.id as string, 0, 1, 2 ** 31 - 1);
  const port = int('port', values.port as string | undefined, 6969, 1, 65535);
  const intervalS = int('interval', values.interval as string | undefined, 1800, 1, 86400);
  const batchMs = int('batch-ms', values['batch-ms'] as string | undefined, 2, 0, 1000);
  for (const v of [id, port, intervalS, batchMs]) if (typeof v === 'string') return { ok: false, error: v };
  const peerTtlS = int('peer-ttl', values['peer-ttl'] as string | undefined, 2 * (intervalS as number), 1, 7 * 86400);
  if (typeof peerTtlS === 'string') return { ok: false, error: peerTtlS };
  const heartbeatMs = int('heartbeat', values.heartbeat as string | undefined, 1000, 20, 60_000);
  const voteTimeoutMs = int('vote-timeout', values['vote-timeout'] as string | undefined, 500, 10, 60_000);
  const rateLimit = int('rate-limit', values['rate-limit'] as string | undefined, 0, 0, 1_000_000);
  const clusterSize = int('cluster-size', values['cluster-size'] as string | undefined, 0, 0, 1000);
  if (typeof clusterSize === 'string') return { ok: false, error: clusterSize };
  const httpPort = values['http-port'] === undefined ? undefined : int('http-port', values['http-port'] as string, 0, 1, 65535);
  const metricsPort = values['metrics-port'] === undefined ? undefined : int('metrics-port', values['metrics-port'] as string, 0, 0, 65535);
  for (const v of [heartbeatMs, voteTimeoutMs, rateLimit, httpPort, metricsPort]) if (typeof v === 'string') return { ok: false, error: v };
  for (const [flag, v] of [['http-host', values['http-host']], ['metrics-host', values['metrics-host']]] as const) {
    if (v !== undefined && isIP(v as string) === 0) return { ok: false, error: `--${flag} must be an IP address, got "${v}"` };
  }
  const broker = values.broker as string | undefined;
  if (broker !== undefined && !/^(stomp|tcp|ws|wss):\/\/[^/\s]+/.test(broker)) {
    return { ok: false, error: `--broker must be a stomp://host:port or ws://host:port/path URL, got "${broker}"` };
  }
  const iface = (values.iface as string | undefined) ?? '127.0.0.1';
  if (isIP(iface) !== 4) return { ok: false, error: `--iface must be an IPv4 address, got "${iface}"` };
  const group = (values.group as string | undefined) ?? (broker ? '239.192.0.1' : undefined);
  if (group !== undefined && !/^2(2[4-9]|3\d)\./.test(group)) return { ok: false, error: `--group must be an IPv4 multicast address, got "${group}"` };
  if (group !== undefined && isIP(group) !== 4) return { ok: false, error: `--group must be an IPv4 multicast address, got "${group}"` };
  // In a cluster the service address is a unicast address only the Master binds: a wildcard would also catch
  // the group's datagrams (answered twice). It defaults to the group's interface.
  const host = (values.host as string | undefined) ?? (broker ? iface : '0.0.0.0');
  if (isIP(host) === 0) return { ok: false, error: `--host must be an IP address, got "${host}"` };
  if (broker && (host === '0.0.0.0' || host === '::')) return { ok: false, error: '--host must be a unicast address in a cluster (the service address), not a wildcard' };
  if (!broker && clusterSize > 1) return { ok: false, error: '--cluster-size above 1 needs --broker (a lone instance could never reach a majority)' };
  const topic = (values.topic as string | undefined) ?? 'udp-tracker';
  if (!/^[\w.-]{1,100}$/.test(topic)) return { ok: false, error: `--topic must be letters, digits, '.', '-' or '_', got "${topic}"` };
  const config: Config = Object.freeze({
    id: id as number, host, port: port as number,
    db: (values.db as string | undefined) ?? `data/tracker-${id}.sqlite`,
    intervalS: intervalS as number, peerTtlS, batchMs: batchMs as number,
    headless: Boolean(values.headless) || !isTty,
    broker, group, iface, heartbeatMs: heartbeatMs as number, topic, voteTimeoutMs: voteTimeoutMs as number, clusterSize,
    torrents: values.torrents as string | undefined,
    secretFile: values['secret-file'] as string | undefined,
    brokerCredentials: values['broker-credentials'] as string | undefined,
    allowList: values['allow-list'] as string | undefined,
    denyList: values['deny-list'] as string | undefined,
    rateLimit: rateLimit as number,
    trustIpField: Boolean(values['trust-ip-field']),
    httpPort: httpPort as number | undefined,
    httpHost: (values['http-host'] as string | undefined) ?? host,
    metricsPort: metricsPort as number | undefined,
    metricsHost: (values['metrics-host'] as string | undefined) ?? '127.0.0.1',
  });
  return { ok: true, config };
}
