/**
 * Every flag once: what parseArgs reads (`type`, `short`), its help line (`arg`, `text`), the bounds of an
 * integer (`range`) and its default. `fallback` is the default value itself (`note` says when it applies);
 * `derived` describes a default computed from other flags (the computation is in resolve.ts).
 * USAGE is generated from this table and resolveConfig takes its defaults from it, so each is written here only.
 */
export type FlagSpec = {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly arg?: string;
  readonly text: string;
  readonly range?: readonly [number, number];
  readonly fallback?: string | number;
  readonly note?: string;
  readonly derived?: string;
};

export const OPTIONS = {
  id: { type: 'string', arg: 'N', text: "this instance's ID (positive integer, unique in the cluster; required)", range: [1, 2 ** 31 - 1] },
  host: {
    type: 'string',
    arg: 'ADDR',
    text: 'UDP address to bind for peers (in a cluster: the service address, never a wildcard)',
    fallback: '0.0.0.0',
    note: ' alone; the --iface address in a cluster',
  },
  port: { type: 'string', arg: 'P', text: 'UDP port', range: [1, 65535], fallback: 6969 },
  db: { type: 'string', arg: 'PATH', text: 'SQLite file; emptied at shutdown', fallback: 'data/tracker-<id>.sqlite' },
  'mirror-lag': {
    type: 'string',
    arg: 'MS',
    text: 'the SQLite file may trail the repository by this long: changes gather and each row is written once per window (0: after every round)',
    range: [0, 60_000],
    fallback: 1000,
  },
  interval: { type: 'string', arg: 'S', text: 'announce interval told to clients, seconds', range: [1, 86400], fallback: 1800 },
  'peer-ttl': {
    type: 'string',
    arg: 'S',
    text: 'a peer silent this long is dropped, seconds',
    range: [1, 7 * 86400],
    derived: '2 × interval',
  },
  'batch-ms': {
    type: 'string',
    arg: 'MS',
    text: 'extra wait before a round starts, to gather more announces into one commit (0: a round starts at once when none is in flight; announces always gather while one is)',
    range: [0, 1000],
    fallback: 0,
  },
  broker: {
    type: 'string',
    arg: 'URLS',
    text: 'join a cluster through this broker (stomp://127.0.0.1:61613, or ws://…), or several separated by commas in failover order (the next is tried at once when one is lost); without it the instance runs alone on the in-process bus',
  },
  group: {
    type: 'string',
    arg: 'ADDR',
    text: 'multicast group to listen on',
    fallback: '239.192.0.1',
    note: ' in a cluster; off when alone',
  },
  iface: { type: 'string', arg: 'ADDR', text: 'interface address for the group', fallback: '127.0.0.1' },
  heartbeat: { type: 'string', arg: 'MS', text: 'keepalive interval; silent for 2 intervals = down', range: [20, 60_000], fallback: 1000 },
  'vote-timeout': { type: 'string', arg: 'MS', text: 'a missing vote counts as ERROR after this long', range: [10, 60_000], fallback: 500 },
  'cluster-size': {
    type: 'string',
    arg: 'N',
    text: 'instances the cluster is built for: a change needs OK from more than N/2 of them, so a minority cut off by a partition never commits',
    range: [0, 1000],
    fallback: 0,
    note: ': a majority of the live ones',
  },
  topic: { type: 'string', arg: 'NAME', text: 'broker topic of the cluster', fallback: 'udp-tracker' },
  torrents: { type: 'string', arg: 'DIR', text: 'register every .torrent in DIR (content names and sizes; bad files are skipped)' },
  'secret-file': { type: 'string', arg: 'F', text: 'shared secret authenticating cluster messages (or env TRACKER_CLUSTER_SECRET)' },
  'broker-credentials': {
    type: 'string',
    arg: 'F',
    text: 'broker login and passcode, one per line (or env TRACKER_BROKER_LOGIN and TRACKER_BROKER_PASSCODE); never on the command line',
  },
  'broker-ca': {
    type: 'string',
    arg: 'F',
    text: 'certificate authorities (PEM) to trust for stomp+ssl:// brokers, e.g. the broker-ca.pem scripts/broker.sh makes',
  },
  'allow-list': {
    type: 'string',
    arg: 'F',
    text: 'serve only the info hashes listed in F (40 hex digits a line); reloaded on SIGHUP or change',
  },
  'deny-list': { type: 'string', arg: 'F', text: 'refuse the info hashes listed in F; reloaded on SIGHUP or change' },
  'rate-limit': {
    type: 'string',
    arg: 'N',
    text: 'at most N requests per second per client address',
    range: [0, 1_000_000],
    fallback: 0,
    note: ': unlimited',
  },
  'trust-ip-field': {
    type: 'boolean',
    text: "use the announce's ip field instead of the sender's address (off: lets anyone inject peers)",
  },
  'http-port': {
    type: 'string',
    arg: 'P',
    text: 'also serve the HTTP tracker (GET /announce, /scrape, /metrics) on this TCP port (Master only)',
    range: [1, 65535],
  },
  'http-host': { type: 'string', arg: 'ADDR', text: 'address for the HTTP tracker', derived: 'the --host address' },
  'metrics-port': {
    type: 'string',
    arg: 'P',
    text: 'Prometheus /metrics on this TCP port, on every instance (0: any free port, logged)',
    range: [0, 65535],
  },
  'metrics-host': { type: 'string', arg: 'ADDR', text: 'address for /metrics', fallback: '127.0.0.1' },
  headless: { type: 'boolean', text: 'no terminal UI (automatic when stdout is not a terminal)' },
  help: { type: 'boolean', short: 'h', text: 'this text' },
} as const satisfies Record<string, FlagSpec>;

export type Flag = keyof typeof OPTIONS;

/** The flags that hold bounded integers. */
export type IntFlag = { [K in Flag]: (typeof OPTIONS)[K] extends { readonly range: readonly [number, number] } ? K : never }[Flag];
