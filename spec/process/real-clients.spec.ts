/**
 * Real BitTorrent clients against a real 3-node cluster, end to end: two libtorrent processes find each other
 * only through the cluster's service address and the download completes, also across a SIGKILL of the Master,
 * and also when one announces only over the Master's HTTP tracker and the other only over UDP;
 * aria2 announces over UDP and downloads through a cluster of its own inside a loopback-only network namespace
 * (aria2 speaks UDP trackers only with DHT on, which must never leave the machine).
 * A missing client is a failure, not a skip: `npm test` installs them (scripts/ensure-clients.sh).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  brokerUrl,
  eventually,
  newTopic,
  peerIdsIn,
  SERVING,
  sqliteDigest,
  startNode,
  startThree,
  type Node,
  killAll,
} from '../helpers/cluster.js';
import { findLibtorrentPython } from '../helpers/libtorrent.js';
import { freeTcpPort, freeUdpPort } from '../helpers/process.js';
import { tempDir } from '../helpers/temp.js';

const ROOT = repoRoot();
const CLIENT_PY = join(ROOT, 'spec', 'fixtures', 'real-client.py');
const BROKER_SH = join(ROOT, 'scripts', 'broker.sh');
// Peer-ID prefixes (8 bytes) name each client in the repositories.
const SEED_ID = '-SPSEED-';
const LEECH_ID = '-SPLEEC-';
const ARIA_ID = '-A2SPEC-';

type Ctx = { dir: ReturnType<typeof tempDir>; cleanups: Array<() => Promise<unknown>> };
const test = suite<Ctx>('real clients', { dir: { path: '', remove: () => {} }, cleanups: [] });

// Should this file crash mid-test, nothing it started may outlive it: a last synchronous SIGKILL (and the
// temporary folder's removal) on exit. Each entry leaves the set once its orderly cleanup has run.
const atExit = new Set<() => void>();
process.on('exit', () => {
  for (const f of [...atExit].reverse()) {
    try {
      f();
    } catch {
      // already gone
    }
  }
});

test.before.each((ctx) => {
  ctx.dir = tempDir('real-clients');
  atExit.add(ctx.dir.remove);
});
// Last started, first stopped: clients, then trackers, then the broker, then the namespace.
test.after.each(async (ctx) => {
  for (const f of ctx.cleanups.reverse()) await f();
  ctx.cleanups = [];
  ctx.dir.remove();
  atExit.delete(ctx.dir.remove);
});

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'scripts', 'broker.sh'))) dir = dirname(dir);
  return dir;
}

// ---- child processes: output collected, awaited by predicate, always killed ----

type Child = {
  pid: number;
  output(): string;
  /** JSON lines printed so far (the python client's events). */
  events(): Array<{ event: string; [k: string]: unknown }>;
  until(check: () => boolean, what: string, ms: number): Promise<void>;
  send(line: string): void;
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
};

/** `ns`: a /proc/PID/ns/net path to run the command in (through nsenter, which execs: the PID is the command's). */
function spawnChild(ctx: Ctx, cmd: string, args: string[], ns?: string): Child {
  const [file, argv] = ns ? ['nsenter', [`--net=${ns}`, '--', cmd, ...args]] : [cmd, args];
  const child = spawn(file, argv, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = ''; // both streams, for the eye
  let stdout = ''; // events are parsed from stdout alone: stderr could split its lines
  const listeners = new Set<() => void>();
  const take = (d: Buffer, isStdout: boolean): void => {
    out += d.toString();
    if (isStdout) stdout += d.toString();
    for (const l of [...listeners]) l();
  };
  child.stdout.on('data', (d: Buffer) => take(d, true));
  child.stderr.on('data', (d: Buffer) => take(d, false));
  child.stdin.on('error', () => {}); // writing to a child that already died is not this test's failure
  const exited = new Promise<number | string>((r) => child.once('exit', (code, sig) => r(code ?? sig ?? -1)));
  const kill = (signal: NodeJS.Signals = 'SIGKILL'): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  atExit.add(kill);
  ctx.cleanups.push(async () => {
    kill();
    await exited;
    atExit.delete(kill);
  });
  const c: Child = {
    pid: child.pid!,
    output: () => out,
    // Complete lines only: a chunk may end in the middle of one.
    events: () =>
      stdout
        .slice(0, stdout.lastIndexOf('\n'))
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l)),
    until(check, what, ms) {
      return new Promise((resolve, reject) => {
        const done = (err?: Error): void => {
          clearTimeout(timer);
          listeners.delete(probe);
          if (err) reject(err);
          else resolve();
        };
        const probe = (): void => {
          if (check()) done();
        };
        const timer = setTimeout(() => done(new Error(`${cmd}: timed out after ${ms} ms waiting for ${what}:\n${out}`)), ms);
        listeners.add(probe);
        void exited.then((code) => !check() && done(new Error(`${cmd} exited (${code}) before ${what}:\n${out}`)));
        probe();
      });
    },
    send: (line) => void child.stdin.write(`${line}\n`),
    exited,
    kill,
  };
  return c;
}

const eventSeen = (c: Child, name: string) => (): boolean => c.events().some((e) => e.event === name);

// ---- the clients ----

function needPython(): string {
  const py = findLibtorrentPython();
  assert.ok(py, 'no python3 imports libtorrent: install python3-libtorrent (scripts/ensure-clients.sh)');
  return py!;
}

function needAria2(): void {
  const r = spawnSync('aria2c', ['--version'], { stdio: 'ignore' });
  assert.is(r.status, 0, 'aria2c is missing: install aria2 (scripts/ensure-clients.sh)');
}

type Seeder = { child: Child; torrent: string; data: string };

/** A libtorrent seeder of a fresh random file; resolves once the cluster acknowledged its `started` announce. */
async function startSeeder(ctx: Ctx, py: string, tracker: string, ns?: string): Promise<Seeder> {
  const dir = join(ctx.dir.path, 'seeder');
  mkdirSync(dir);
  const child = spawnChild(
    ctx,
    py,
    [CLIENT_PY, 'seed', '--tracker', tracker, '--dir', dir, '--size', String(256 * 1024), `--peer-id-prefix=${SEED_ID}`],
    ns,
  );
  await child.until(eventSeen(child, 'announced'), "the seeder's acknowledged announce", 20_000);
  const t = child.events().find((e) => e.event === 'torrent')!;
  return { child, torrent: String(t.torrent), data: String(t.data) };
}

/**
 * A libtorrent leecher, ready but silent until it is sent `go`. With `tracker`, it announces only there: it
 * uses a copy of `torrent` (same info-hash) that lists that URL alone.
 */
async function startLeecher(ctx: Ctx, py: string, torrent: string, tracker?: string): Promise<{ child: Child; data: string }> {
  const dir = join(ctx.dir.path, 'leecher');
  mkdirSync(dir);
  const retarget = tracker ? ['--tracker', tracker] : [];
  const child = spawnChild(ctx, py, [CLIENT_PY, 'leech', '--torrent', torrent, ...retarget, '--dir', dir, `--peer-id-prefix=${LEECH_ID}`]);
  await child.until(eventSeen(child, 'listening'), 'the leecher to listen', 10_000);
  return { child, data: join(dir, 'data.bin') };
}

function assertSameBytes(got: string, want: string): void {
  assert.ok(existsSync(got), `${got} was not written`);
  assert.ok(readFileSync(got).equals(readFileSync(want)), 'the downloaded file differs from the original');
}

// ---- the cluster ----

const hex = (prefix: string): string => Buffer.from(prefix).toString('hex');

/** Peer-ID prefixes present in an instance's repository (empty while its file is not there yet). */
function prefixesIn(db: string, prefixes: string[]): string[] {
  if (!existsSync(db)) return [];
  const ids = [...peerIdsIn(db)];
  return prefixes.filter((p) => ids.some((id) => id.startsWith(hex(p))));
}

/** Every repository holds (or, with `present` false, no longer holds) a peer of each prefix. */
async function assertRepositories(dbs: string[], prefixes: string[], present = true): Promise<void> {
  const want = present ? prefixes : [];
  const seen = await eventually(
    () => dbs.map((db) => prefixesIn(db, prefixes)),
    (all) => all.every((p) => p.length === want.length),
  );
  for (const [i, p] of seen.entries()) assert.equal(p, want, `repository ${dbs[i]}`);
}

/**
 * Resolves with the index of the Master once one node holds the service address and the other two are Slaves.
 * Usually node 3 (the highest ID), but a node that starts late on a busy machine may find another one elected.
 */
async function awaitCluster(logs: Array<() => string>): Promise<number> {
  const roles = await eventually(
    () => logs.map((log) => (SERVING.test(log()) ? 'master' : /role slave/.test(log()) ? 'slave' : '-')),
    (r) => r.filter((x) => x === 'master').length === 1 && r.filter((x) => x === 'slave').length === 2,
    15_000,
    50,
  );
  assert.is(
    roles.filter((x) => x === 'master').length + roles.filter((x) => x === 'slave').length,
    3,
    `the cluster did not form (${roles.join(' ')}):\n${logs.map((l) => l()).join('\n')}`,
  );
  return roles.indexOf('master');
}

/** The nodes are killed after the test, and also if this file crashes first. */
function own(ctx: Ctx, nodes: readonly Node[]): void {
  const kill = (): void => {
    for (const n of nodes) n.proc.kill('SIGKILL');
  };
  atExit.add(kill);
  ctx.cleanups.push(async () => {
    await killAll(nodes);
    atExit.delete(kill);
  });
}

async function hostCluster(ctx: Ctx): Promise<{ port: number; nodes: Node[]; master: number }> {
  const port = await freeUdpPort();
  const o = { brokerUrl: brokerUrl(), port, dir: ctx.dir.path, topic: newTopic(), heartbeatMs: 250 };
  const nodes = [1, 2, 3].map((id) => startNode(id, o));
  own(ctx, nodes);
  const master = await awaitCluster(nodes.map((n) => () => n.proc.stderr()));
  return { port, nodes, master };
}

/**
 * The cluster with the HTTP tracker on `httpPort` (only the Master binds it), node 3 started first so it is
 * normally the Master; resolves once the Master serves both the UDP service address and HTTP.
 */
async function hostHttpCluster(ctx: Ctx): Promise<{ port: number; httpPort: number; nodes: Node[]; master: number }> {
  const port = await freeUdpPort();
  const httpPort = await freeTcpPort();
  const o = { brokerUrl: brokerUrl(), port, dir: ctx.dir.path, topic: newTopic(), heartbeatMs: 250 };
  const nodes = await startThree(o, ['--http-port', String(httpPort)]);
  own(ctx, nodes);
  const master = await awaitCluster(nodes.map((n) => () => n.proc.stderr()));
  await nodes[master]!.proc.waitFor(new RegExp(`HTTP tracker on http://127\\.0\\.0\\.1:${httpPort}/announce`), 15_000);
  return { port, httpPort, nodes, master };
}

/** GET http://127.0.0.1:port/path: the body, or an error message. */
const httpGet = (port: number, path: string): Promise<{ status: number; body: string } | { error: string }> =>
  new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.message }));
  });

/** One Prometheus sample's value (NaN when the series is absent). */
const sample = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
};

// ---- libtorrent ----

test('two libtorrent clients find each other only through the cluster and the download completes', async (ctx) => {
  const py = needPython();
  const { port, nodes } = await hostCluster(ctx);
  const seeder = await startSeeder(ctx, py, `udp://127.0.0.1:${port}/announce`);
  const leecher = await startLeecher(ctx, py, seeder.torrent);
  leecher.child.send('go');
  await leecher.child.until(eventSeen(leecher.child, 'finished'), 'the download to finish', 30_000);
  assertSameBytes(leecher.data, seeder.data);
  await assertRepositories(
    nodes.map((n) => n.db),
    [SEED_ID, LEECH_ID],
  );
});

test('SIGKILL of the Master between the two announces: the leecher retries and completes via the new Master', async (ctx) => {
  const py = needPython();
  const { port, nodes, master } = await hostCluster(ctx);
  const seeder = await startSeeder(ctx, py, `udp://127.0.0.1:${port}/announce`);
  const leecher = await startLeecher(ctx, py, seeder.torrent);
  const survivors = nodes.filter((_, i) => i !== master);
  const logFrom = survivors.map((n) => n.proc.stderr().length);
  // The seeder is known only to the cluster's repositories now. The Master dies and the leecher announces at
  // once (within ~50 ms), well before the survivors notice (two 250 ms heartbeats): that announce is lost,
  // and libtorrent retries a timed-out announce 30 s later, by which time a survivor serves the address.
  nodes[master]!.proc.kill('SIGKILL');
  leecher.child.send('go');
  await leecher.child.until(eventSeen(leecher.child, 'finished'), 'the download to finish', 50_000);
  assertSameBytes(leecher.data, seeder.data);
  const events = leecher.child
    .events()
    .map((e) => e.event)
    .filter((e) => e !== 'progress');
  const first = (name: string): number => events.indexOf(name);
  assert.ok(
    first('announcing') >= 0 && first('announcing') < first('tracker_error') && first('tracker_error') < first('announced'),
    `the first announce should go unanswered and a retry succeed: ${events.join(' ')}`,
  );
  assert.ok(
    survivors.some((n, i) => SERVING.test(n.proc.stderr().slice(logFrom[i]))),
    'a survivor took over the service address',
  );
  await assertRepositories(
    survivors.map((n) => n.db),
    [SEED_ID, LEECH_ID],
  );
});

test('a seeder announcing only over HTTP and a leecher announcing only over UDP share one swarm', async (ctx) => {
  const py = needPython();
  const { port, httpPort, nodes, master } = await hostHttpCluster(ctx);
  const httpUrl = `http://127.0.0.1:${httpPort}/announce`;
  const udpUrl = `udp://127.0.0.1:${port}/announce`;
  const seeder = await startSeeder(ctx, py, httpUrl);
  const leecher = await startLeecher(ctx, py, seeder.torrent, udpUrl);
  // Each .torrent lists its one tracker alone, for the same info-hash: only the cluster can join the two.
  const seederTorrent = seeder.child.events().find((e) => e.event === 'torrent')!;
  const leecherTorrent = leecher.child.events().find((e) => e.event === 'torrent');
  assert.equal(seederTorrent.trackers, [httpUrl]);
  assert.equal(leecherTorrent?.trackers, [udpUrl]);
  assert.is(leecherTorrent?.infoHash, seederTorrent.infoHash);
  leecher.child.send('go');
  await leecher.child.until(eventSeen(leecher.child, 'finished'), 'the download to finish', 30_000);
  assertSameBytes(leecher.data, seeder.data);
  const dbs = nodes.map((n) => n.db);
  await assertRepositories(dbs, [SEED_ID, LEECH_ID]);
  // The HTTP announce went through the same consensus as the UDP ones: every repository ends up the same.
  const ds = await eventually(
    () => dbs.map(sqliteDigest),
    (v) => v.every((d) => d.digest === v[0]!.digest),
  );
  assert.ok(
    ds.every((d) => d.digest === ds[0]!.digest && d.peers === 2 && d.torrents === 1),
    `identical repositories: ${JSON.stringify(ds)}`,
  );
  // The Master's HTTP port also serves /metrics: the seeder's announces came over HTTP, the leecher's over UDP.
  const metrics = await httpGet(httpPort, '/metrics');
  assert.ok(!('error' in metrics) && metrics.status === 200, `GET /metrics: ${JSON.stringify(metrics)}`);
  if ('error' in metrics) return;
  const id = nodes[master]!.id;
  const httpAnnounces = sample(metrics.body, `tracker_requests_total{protocol="http",action="announce",tracker_id="${id}"}`);
  const udpAnnounces = sample(metrics.body, `tracker_requests_total{protocol="udp",action="announce",tracker_id="${id}"}`);
  assert.ok(httpAnnounces >= 1, `HTTP announces: ${httpAnnounces}\n${metrics.body}`);
  assert.ok(udpAnnounces >= 1, `UDP announces: ${udpAnnounces}\n${metrics.body}`);
});

// ---- aria2, in a network namespace with only loopback ----

/** A fresh network namespace (lo up), held open by a `cat` that ends with its stdin. */
async function netns(ctx: Ctx): Promise<string> {
  const holder = spawnChild(ctx, 'unshare', ['--net', 'sh', '-c', 'ip link set lo up && echo ready && exec cat']);
  await holder.until(() => holder.output().includes('ready'), 'the namespace', 10_000);
  const ns = `/proc/${holder.pid}/ns/net`;
  // Never run DHT in the host's namespace by mistake.
  assert.is.not(readlinkSync(ns), readlinkSync('/proc/self/ns/net'), 'unshare did not create a namespace');
  return ns;
}

const execFileText = (file: string, args: string[]): Promise<string> =>
  new Promise((resolve, reject) =>
    execFile(file, args, { timeout: 60_000 }, (e, out, err) => (e ? reject(new Error(`${e.message}\n${err}`)) : resolve(out))),
  );

/** An ActiveMQ of the namespace's own (the test broker outside is out of reach); stopped by PID from outside. */
async function nsBroker(ctx: Ctx, ns: string): Promise<string> {
  const dir = join(ctx.dir.path, 'broker');
  // broker.sh writes the pid file once java runs and removes it when it stops the broker.
  const kill = (): void => {
    if (existsSync(join(dir, 'broker.pid'))) process.kill(Number(readFileSync(join(dir, 'broker.pid'), 'utf8')), 'SIGKILL');
  };
  atExit.add(kill);
  ctx.cleanups.push(async () => {
    await execFileText('bash', [BROKER_SH, 'stop', '--dir', dir]).catch(() => '');
    atExit.delete(kill);
  });
  const out = await execFileText('nsenter', [`--net=${ns}`, '--', 'bash', BROKER_SH, 'start', '--port', '0', '--dir', dir]);
  return `stomp://127.0.0.1:${out.trim().split('\n').pop()}`;
}

// A fresh namespace has every port free, so fixed ones are safe there.
const NS_TRACKER_PORT = 6969;
const ARIA_PORT = 6881;

/** The same three nodes as startNode() starts, but inside the namespace; returns their SQLite files. */
async function nsCluster(ctx: Ctx, ns: string, broker: string): Promise<string[]> {
  const topic = newTopic();
  const nodes = [1, 2, 3].map((id) => {
    const db = join(ctx.dir.path, `ns-node-${id}.sqlite`);
    const args = [
      'dist/main.js',
      '--id',
      String(id),
      '--broker',
      broker,
      '--topic',
      topic,
      '--port',
      String(NS_TRACKER_PORT),
      '--db',
      db,
      '--heartbeat',
      '250',
      '--headless',
      // The namespace's broker wrote its login beside it (it refuses unauthenticated clients).
      '--broker-credentials',
      join(ctx.dir.path, 'broker', 'credentials'),
    ];
    return { child: spawnChild(ctx, process.execPath, args, ns), db };
  });
  await awaitCluster(nodes.map((n) => n.child.output));
  return nodes.map((n) => n.db);
}

function startAria2(ctx: Ctx, ns: string, torrent: string, dir: string): Child {
  return spawnChild(
    ctx,
    'aria2c',
    [
      '--no-conf=true', // a user's aria2.conf must not change the test
      `--dir=${dir}`,
      `--listen-port=${ARIA_PORT}`,
      // aria2 sends UDP tracker traffic only through its DHT socket; the namespace keeps DHT on this machine.
      '--enable-dht=true',
      `--dht-listen-port=${ARIA_PORT}`,
      `--dht-file-path=${join(dir, 'dht.dat')}`,
      '--bt-enable-lpd=false',
      '--enable-peer-exchange=false',
      '--seed-ratio=0.0', // seed (stay announced) until the test stops it
      `--peer-id-prefix=${ARIA_ID}`,
      '--summary-interval=0',
      '--console-log-level=notice',
      '--enable-color=false',
      torrent,
    ],
    ns,
  );
}

/** The child's exit status, or 'still running' after `ms`. */
async function exitWithin(c: Child, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((r) => (timer = setTimeout(() => r('still running'), ms)));
  try {
    return await Promise.race([c.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

const sameBytes = (a: string, b: string): boolean => existsSync(a) && readFileSync(a).equals(readFileSync(b));

test('aria2 announces over UDP to a cluster in a loopback-only namespace and downloads from a libtorrent seeder', async (ctx) => {
  const py = needPython();
  needAria2();
  const ns = await netns(ctx);
  const dbs = await nsCluster(ctx, ns, await nsBroker(ctx, ns));
  const seeder = await startSeeder(ctx, py, `udp://127.0.0.1:${NS_TRACKER_PORT}/announce`, ns);
  const dir = join(ctx.dir.path, 'aria2');
  mkdirSync(dir);
  const aria = startAria2(ctx, ns, seeder.torrent, dir);
  const got = join(dir, 'data.bin');
  const done = await eventually(() => sameBytes(got, seeder.data), Boolean, 30_000, 200);
  assert.ok(done, `aria2 did not download the file:\n${aria.output()}`);
  await assertRepositories(dbs, [SEED_ID, ARIA_ID]);
  // SIGINT is aria2's graceful stop (SIGTERM is its emergency stop, which skips the tracker): it announces
  // `stopped`, and once that is acknowledged aria2's peer is gone from every repository.
  aria.kill('SIGINT');
  assert.is(await exitWithin(aria, 15_000), 0, `aria2 exit:\n${aria.output()}`);
  await assertRepositories(dbs, [ARIA_ID], false);
});

test.run();
