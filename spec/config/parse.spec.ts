/** Flags → grouped Config: a table of flag lines and what they give (fields or the exact error line), defaults, help. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OPTIONS, parseConfig, resolveConfig, USAGE, type Config, type FlagSpec } from '../../src/config/index.js';
import { defaultText } from '../../src/config/usage.js';

const argv = (line: string): string[] => line.split(' ').filter((w) => w !== '');
type Expected = { readonly [section: string]: unknown };

/** The part of `actual` with the shape of `expected` (sections and fields it names), to compare whole. */
function pick(actual: unknown, expected: unknown): unknown {
  if (typeof expected !== 'object' || expected === null || typeof actual !== 'object' || actual === null) return actual;
  if (Array.isArray(expected)) return actual;
  return Object.fromEntries(Object.keys(expected).map((k) => [k, pick(Reflect.get(actual, k), Reflect.get(expected, k))]));
}

// A line and the fields it sets (other fields: see the defaults test).
const accepted: Array<[string, Expected]> = [
  ['--id 3 --port 1', { id: 3, network: { port: 1 } }],
  ['--id 2147483647', { id: 2147483647 }],
  ['--id 3 --host ::', { network: { host: '::' }, http: { host: '::' } }],
  ['--id 3 --db x/y.sqlite --torrents t', { storage: { db: 'x/y.sqlite', torrents: 't', mirrorLagMs: 1000 } }],
  ['--id 3 --interval 60', { policy: { intervalS: 60, peerTtlS: 120 } }],
  ['--id 3 --interval 60 --peer-ttl 90', { policy: { intervalS: 60, peerTtlS: 90 } }],
  ['--id 3 --batch-ms 0', { cluster: { batchMs: 0 } }],
  ['--id 3 --mirror-lag 0', { storage: { mirrorLagMs: 0 } }],
  [
    '--id 3 --broker stomp://127.0.0.1:61613',
    {
      network: { host: '127.0.0.1', group: '239.192.0.1', iface: '127.0.0.1' },
      cluster: { broker: 'stomp://127.0.0.1:61613', brokers: ['stomp://127.0.0.1:61613'] },
    },
  ],
  [
    '--id 3 --broker stomp://127.0.0.1:61691,stomp://127.0.0.1:61692',
    { cluster: { brokers: ['stomp://127.0.0.1:61691', 'stomp://127.0.0.1:61692'] } },
  ],
  [
    '--id 3 --broker ws://b:1/stomp --iface 10.0.0.2',
    { network: { host: '10.0.0.2', group: '239.192.0.1', iface: '10.0.0.2' }, http: { host: '10.0.0.2' } },
  ],
  ['--id 3 --broker tcp://b:1 --host 10.0.0.9 --group 239.1.2.3', { network: { host: '10.0.0.9', group: '239.1.2.3' } }],
  ['--id 3 --group 224.0.0.200', { network: { group: '224.0.0.200', host: '0.0.0.0' }, cluster: { broker: undefined } }],
  ['--id 3 --heartbeat 20 --vote-timeout 10 --topic a.b-c_d', { cluster: { heartbeatMs: 20, voteTimeoutMs: 10, topic: 'a.b-c_d' } }],
  ['--id 3 --broker stomp://b:1 --cluster-size 3', { cluster: { clusterSize: 3 } }],
  ['--id 3 --cluster-size 1', { cluster: { clusterSize: 1 } }],
  ['--id 3 --secret-file s --broker-credentials c', { cluster: { secretFile: 's', brokerCredentials: 'c' } }],
  [
    '--id 3 --allow-list a --deny-list d --rate-limit 7 --trust-ip-field',
    { policy: { allowList: 'a', denyList: 'd', rateLimit: 7, trustIpField: true } },
  ],
  ['--id 3 --http-port 8080 --http-host ::1', { http: { port: 8080, host: '::1', metricsPort: undefined } }],
  ['--id 3 --metrics-port 0 --metrics-host 0.0.0.0', { http: { port: undefined, metricsPort: 0, metricsHost: '0.0.0.0' } }],
  ['--id 3 --headless', { headless: true }],
];
for (const [line, expected] of accepted) {
  test(`accepts: ${line}`, () => {
    const r = parseConfig(argv(line), true);
    assert.ok(r.ok === true, JSON.stringify(r));
    if (r.ok === true) assert.equal(pick(r.config, expected), expected);
  });
}

// A line and the exact error line (main.ts prints it and exits 2).
const refused: Array<[string, string]> = [
  ['', '--id is required (a positive integer unique in the cluster)'],
  ['--port 1', '--id is required (a positive integer unique in the cluster)'],
  ['--id abc', '--id must be an integer, got "abc"'],
  ['--id 0', '--id must be between 1 and 2147483647, got 0'],
  ['--id -1', "Option '--id' argument is ambiguous."],
  ['--id 3 --bogus', "Unknown option '--bogus'"],
  ['--id 3 -x', "Unknown option '-x'"],
  ['--id 3 --port', "Option '--port <value>' argument missing"],
  ['--id 3 --headless=1', "Option '--headless' does not take an argument"],
  ['--id 3 extra', "Unexpected argument 'extra'. This command does not take positional arguments"],
  ['--id 3 --port 70000', '--port must be between 1 and 65535, got 70000'],
  ['--id 3 --port 1.5', '--port must be an integer, got "1.5"'],
  ['--id 3 --interval 0', '--interval must be between 1 and 86400, got 0'],
  ['--id 3 --batch-ms 1001', '--batch-ms must be between 0 and 1000, got 1001'],
  ['--id 3 --mirror-lag 60001', '--mirror-lag must be between 0 and 60000, got 60001'],
  ['--id 3 --peer-ttl 604801', '--peer-ttl must be between 1 and 604800, got 604801'],
  ['--id 3 --cluster-size 1001', '--cluster-size must be between 0 and 1000, got 1001'],
  ['--id 3 --heartbeat 19', '--heartbeat must be between 20 and 60000, got 19'],
  ['--id 3 --vote-timeout 60001', '--vote-timeout must be between 10 and 60000, got 60001'],
  ['--id 3 --rate-limit x', '--rate-limit must be an integer, got "x"'],
  ['--id 3 --http-port 0', '--http-port must be between 1 and 65535, got 0'],
  ['--id 3 --metrics-port 65536', '--metrics-port must be between 0 and 65535, got 65536'],
  ['--id 3 --http-host localhost', '--http-host must be an IP address, got "localhost"'],
  ['--id 3 --metrics-host x', '--metrics-host must be an IP address, got "x"'],
  [
    '--id 3 --broker http://b:1',
    '--broker must be stomp://host:port or ws://host:port/path URLs separated by commas (unsupported scheme http: in http://b:1 (use stomp://, stomp+ssl://, tcp://, ws:// or wss://)), got "http://b:1"',
  ],
  [
    '--id 3 --broker stomp://127.0.0.1:61691,stomp//127.0.0.1:61692',
    '--broker must be stomp://host:port or ws://host:port/path URLs separated by commas (not a URL: stomp//127.0.0.1:61692), got "stomp://127.0.0.1:61691,stomp//127.0.0.1:61692"',
  ],
  [
    '--id 3 --broker stomp://a:1,',
    '--broker must be stomp://host:port or ws://host:port/path URLs separated by commas (an empty entry in the list), got "stomp://a:1,"',
  ],
  ['--id 3 --iface ::1', '--iface must be an IPv4 address, got "::1"'],
  ['--id 3 --group 10.0.0.1', '--group must be an IPv4 multicast address, got "10.0.0.1"'],
  ['--id 3 --group 239.1.1', '--group must be an IPv4 multicast address, got "239.1.1"'],
  ['--id 3 --host nowhere', '--host must be an IP address, got "nowhere"'],
  ['--id 3 --broker stomp://b:1 --host 0.0.0.0', '--host must be a unicast address in a cluster (the service address), not a wildcard'],
  ['--id 3 --broker stomp://b:1 --host ::', '--host must be a unicast address in a cluster (the service address), not a wildcard'],
  // The cluster's default host is the interface address: a wildcard interface makes it a wildcard too.
  ['--id 3 --broker stomp://b:1 --iface 0.0.0.0', '--host must be a unicast address in a cluster (the service address), not a wildcard'],
  ['--id 3 --cluster-size 2', '--cluster-size above 1 needs --broker (a lone instance could never reach a majority)'],
  ['--id 3 --topic a/b', `--topic must be letters, digits, '.', '-' or '_', got "a/b"`],
  // Several bad flags: the first one checked is reported (ids, then the ports and times, then addresses).
  ['--id 3 --host nowhere --port 0', '--port must be between 1 and 65535, got 0'],
  ['--id 3 --metrics-port x --cluster-size y', '--cluster-size must be an integer, got "y"'],
];
for (const [line, error] of refused) {
  test(`refuses: ${line || '(nothing)'}`, () => {
    assert.equal(parseConfig(argv(line), true), { ok: false, error });
  });
}

test('--help and -h win over everything but a flag parseArgs cannot read', () => {
  for (const line of ['--help', '-h', '--id 0 --help', '--port x -h']) assert.equal(parseConfig(argv(line), true), { ok: 'help' }, line);
  assert.equal(parseConfig(argv('--help --bogus'), true), { ok: false, error: "Unknown option '--bogus'" });
});

test('defaults: every field of a bare --id, each default taken from the option table', () => {
  const r = parseConfig(['--id', '7'], true);
  assert.ok(r.ok === true);
  if (r.ok !== true) return;
  const expected: Config = {
    id: 7,
    headless: false,
    network: { host: OPTIONS.host.fallback, port: OPTIONS.port.fallback, group: undefined, iface: OPTIONS.iface.fallback },
    cluster: {
      broker: undefined,
      brokers: [],
      topic: OPTIONS.topic.fallback,
      heartbeatMs: OPTIONS.heartbeat.fallback,
      voteTimeoutMs: OPTIONS['vote-timeout'].fallback,
      clusterSize: OPTIONS['cluster-size'].fallback,
      batchMs: OPTIONS['batch-ms'].fallback,
      secretFile: undefined,
      brokerCredentials: undefined,
      brokerCa: undefined,
    },
    storage: { db: 'data/tracker-7.sqlite', torrents: undefined, mirrorLagMs: 1000 },
    policy: {
      intervalS: OPTIONS.interval.fallback,
      peerTtlS: 2 * OPTIONS.interval.fallback,
      rateLimit: OPTIONS['rate-limit'].fallback,
      trustIpField: false,
      allowList: undefined,
      denyList: undefined,
    },
    http: { port: undefined, host: OPTIONS.host.fallback, metricsPort: undefined, metricsHost: OPTIONS['metrics-host'].fallback },
  };
  assert.equal(r.config, expected);
  // And the values the README's Flags table states.
  assert.equal(
    [r.config.network.host, r.config.network.port, r.config.policy.intervalS, r.config.policy.peerTtlS, r.config.cluster.batchMs],
    ['0.0.0.0', 6969, 1800, 3600, 0],
  );
  assert.equal(
    [
      r.config.network.iface,
      r.config.cluster.heartbeatMs,
      r.config.cluster.voteTimeoutMs,
      r.config.cluster.topic,
      r.config.http.metricsHost,
    ],
    ['127.0.0.1', 1000, 500, 'udp-tracker', '127.0.0.1'],
  );
});

test('headless: the flag, or no terminal', () => {
  const headless = (line: string, tty: boolean): unknown => {
    const r = parseConfig(argv(line), tty);
    return r.ok === true && r.config.headless;
  };
  assert.equal([headless('--id 1', true), headless('--id 1', false), headless('--id 1 --headless', true)], [false, true, true]);
});

test('the result is what resolveConfig gives for the same settings, frozen to the sections', () => {
  const r = parseConfig(argv('--id 4 --broker stomp://b:1 --interval 60 --http-port 80'), false);
  assert.ok(r.ok === true);
  if (r.ok !== true) return;
  assert.equal(
    r.config,
    resolveConfig({ id: 4, headless: true, cluster: { broker: 'stomp://b:1' }, policy: { intervalS: 60 }, http: { port: 80 } }),
  );
  for (const part of [r.config, r.config.network, r.config.cluster, r.config.storage, r.config.policy, r.config.http])
    assert.ok(Object.isFrozen(part));
});

test('the help text lists every flag, with its default as the option table states it', () => {
  const flat = USAGE.replace(/\s+/g, ' ');
  assert.ok(USAGE.startsWith('Usage: node dist/main.js --id N [options]\n'));
  for (const [name, spec] of Object.entries<FlagSpec>(OPTIONS)) {
    const head = `  --${name}${spec.arg ? ` ${spec.arg}` : ''} `;
    assert.ok(
      USAGE.split('\n').some((l) => l.startsWith(head)),
      `a line for --${name}`,
    );
    const def = defaultText(spec);
    if (def !== null) assert.ok(flat.includes(`(${def})`), `--${name}: (${def})`);
  }
  for (const shown of [
    '(default 6969)',
    '(default 1800)',
    '(default 2 × interval)',
    '(default data/tracker-<id>.sqlite)',
    '(default 0: unlimited)',
  ]) {
    assert.is(flat.split(shown).length, 2, `${shown} once`);
  }
  for (const line of USAGE.split('\n')) assert.ok(line.length <= 112, line);
});

test.run();
