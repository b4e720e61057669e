/** Process-level cluster fixtures: N real tracker processes on one broker topic, SQLite digests, a broker of our own. */
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import { run, type Proc } from './process.js';
import { tempDir } from './temp.js';
import type { TestClient } from './udp-client.js';

export type Node = { id: number; proc: Proc; db: string };

export type ClusterOpts = {
  brokerUrl: string;
  port: number;
  dir: string;
  heartbeatMs?: number;
  topic?: string;
  env?: NodeJS.ProcessEnv;
  /** The broker's credentials file, when the URL is not one the helpers started (a proxy in front of it). */
  credentials?: string;
};

export function brokerUrl(): string {
  const url = process.env.TEST_BROKER_URL;
  if (!url) throw new Error('TEST_BROKER_URL is not set: run the suites through `npm test`, which starts ActiveMQ');
  if (process.env.TEST_BROKER_CREDENTIALS) credentialFiles.set(url, process.env.TEST_BROKER_CREDENTIALS);
  return url;
}

/**
 * Every broker the project's scripts start refuses unauthenticated clients: its credentials file (login and
 * passcode on two lines) is remembered per broker URL, for the instances (--broker-credentials) and for the
 * specs' own STOMP clients (brokerLogin).
 */
const credentialFiles = new Map<string, string>();
export const credentialsFor = (url: string): string | undefined => credentialFiles.get(url);
export function brokerLogin(url: string): { login: string; passcode: string } {
  const file = credentialFiles.get(url);
  if (!file) throw new Error(`no credentials known for ${url}`);
  const [login = '', passcode = ''] = readFileSync(file, 'utf8').split('\n');
  return { login, passcode };
}

export function startNode(id: number, o: ClusterOpts & { topic: string }, extra: string[] = []): Node {
  const credentials = o.credentials ?? credentialsFor(o.brokerUrl);
  const db = join(o.dir, `node-${id}-${randomBytes(3).toString('hex')}.sqlite`);
  const proc = run(
    [
      '--id',
      String(id),
      '--broker',
      o.brokerUrl,
      '--topic',
      o.topic,
      '--port',
      String(o.port),
      '--db',
      db,
      '--heartbeat',
      String(o.heartbeatMs ?? 250),
      '--headless',
      ...(credentials ? ['--broker-credentials', credentials] : []),
      ...extra,
    ],
    o.env ?? {},
  );
  return { id, proc, db };
}

export function newTopic(): string {
  return `spec-${randomBytes(4).toString('hex')}`;
}

/** Rows of an instance's SQLite repository, digested order-independently. */
export function sqliteDigest(db: string): { digest: string; peers: number; torrents: number } {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const peers = d
      .prepare('SELECT hex(info_hash) h, hex(peer_id) p, ip, port, uploaded, downloaded, left, last_seen FROM peers')
      .all() as Record<string, unknown>[];
    const torrents = d.prepare('SELECT hex(info_hash) h, name, size, completed FROM torrents').all() as Record<string, unknown>[];
    const rows = [...peers.map((r) => `p ${Object.values(r).join(' ')}`), ...torrents.map((r) => `t ${Object.values(r).join(' ')}`)].sort();
    return { digest: createHash('sha256').update(rows.join('\n')).digest('hex'), peers: peers.length, torrents: torrents.length };
  } finally {
    d.close();
  }
}

export function peerIdsIn(db: string): Set<string> {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return new Set((d.prepare('SELECT hex(peer_id) p FROM peers').all() as { p: string }[]).map((r) => r.p.toLowerCase()));
  } finally {
    d.close();
  }
}

/**
 * Wait (I/O settling) until every instance's SQLite file holds the same rows and `holds` is true of each file
 * (e.g. every acknowledged peer ID is there); returns the digests. The mirror is written asynchronously, so
 * identical files may all still lack the last commit for a moment: equal digests alone do not mean settled.
 */
export async function settled(nodes: readonly Node[], holds: (db: string) => boolean = () => true, ms = 15_000): Promise<string[]> {
  const probe = (): Array<{ digest: string; holds: boolean }> =>
    nodes.map((n) => ({ digest: sqliteDigest(n.db).digest, holds: holds(n.db) }));
  const v = await eventually(probe, (s) => s.every((x) => x.holds && x.digest === s[0]!.digest), ms);
  return v.map((x) => x.digest);
}

/** Every peer ID of `acked` (hex) is in the file: for `settled`. */
export const holdsAll =
  (acked: readonly string[]) =>
  (db: string): boolean => {
    const have = peerIdsIn(db);
    return acked.every((p) => have.has(p));
  };

/** Poll (I/O settling, not a timing assertion) until `check` holds or `ms` pass; returns the last value. */
export async function eventually<T>(probe: () => T | Promise<T>, check: (v: T) => boolean, ms = 10_000, every = 100): Promise<T> {
  const end = Date.now() + ms;
  let v = await probe();
  while (!check(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, every));
    v = await probe();
  }
  return v;
}

/**
 * Wait (I/O settling) until at least `n` more announces than the first `mark` of `acked` were acknowledged, and
 * fail the test if they were not within `ms`: the cluster went on serving. Returns the count reached.
 */
export async function ackedBeyond(acked: readonly unknown[], mark: number, n: number, what: string, ms = 15_000): Promise<number> {
  const count = await eventually(
    () => acked.length,
    (c) => c >= mark + n,
    ms,
    20,
  );
  assert.ok(count >= mark + n, `${what}: ${count - mark} announces acknowledged within ${ms} ms, expected at least ${n}`);
  return count;
}

function script(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'scripts', 'broker.sh'))) dir = dirname(dir);
  return join(dir, 'scripts', 'broker.sh');
}

/** A broker of the test's own (for tests that kill it). */
/** scripts/broker.sh with these arguments; its stdout, or an error with its stderr. */
const sh = (...args: string[]): Promise<string> =>
  new Promise((resolve, reject) =>
    execFile('bash', [script(), ...args], { timeout: 60_000 }, (e, out, err) =>
      e ? reject(new Error(`${e.message}\n${err}`)) : resolve(out),
    ),
  );

export function ownBroker(dir: string, extra: readonly string[] = []) {
  let port = 0;
  return {
    async start(): Promise<string> {
      port = Number((await sh('start', '--port', String(port), '--dir', dir, ...extra)).trim().split('\n').pop());
      const url = `stomp://127.0.0.1:${port}`;
      credentialFiles.set(url, join(dir, 'credentials'));
      return url;
    },
    kill9(): void {
      const pid = Number(readFileSync(join(dir, 'broker.pid'), 'utf8').trim());
      process.kill(pid, 'SIGKILL');
    },
    stop: () => sh('stop', '--dir', dir).catch(() => ''),
  };
}

/**
 * A shared-storage broker pair of our own (scripts/broker.sh start-pair): `a` serves first, `b` waits on the lock.
 * `killServing` SIGKILLs whichever serves now (its STOMP port is open) and says which it was.
 */
export function ownBrokerPair(dir: string) {
  const ports: number[] = [];
  const pidOf = (half: string): number => Number(readFileSync(join(dir, half, 'broker.pid'), 'utf8').trim());
  return {
    async start(): Promise<string> {
      const out = (await sh('start-pair', '--ports', '0,0', '--dir', dir)).trim().split('\n').pop()!;
      ports.splice(0, 2, ...out.split(',').map(Number));
      const url = ports.map((p) => `stomp://127.0.0.1:${p}`).join(',');
      credentialFiles.set(url, join(dir, 'credentials'));
      return url;
    },
    async killServing(): Promise<'a' | 'b'> {
      const half = (await portOpen(ports[0]!)) ? 'a' : 'b';
      process.kill(pidOf(half), 'SIGKILL');
      return half;
    },
    /** Start the half that died again: it waits on the lock and takes over at the next failure. */
    restart: (half: 'a' | 'b') =>
      sh('start', '--port', String(ports[half === 'a' ? 0 : 1]), '--dir', join(dir, half), '--shared', join(dir, 'shared')),
    stop: () => sh('stop-pair', '--dir', dir).catch(() => ''),
  };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** The Master logs this once it holds the service address (a quarter keepalive after its election): it answers from then on. */
export const SERVING = /holding the service address/;

/**
 * Instances 1, 2, 3 with 3 started first: once it is on the broker, 1 and 2 start, so their discovery windows
 * close after its own and 3 is the Master (on a busy machine a simultaneous start can let 1 win before 3 is
 * heard, and a live Master is never deposed by a newcomer). Returned in ID order.
 */
export async function startThree(o: ClusterOpts & { topic: string }, extra: string[] = []): Promise<Node[]> {
  const three = startNode(3, o, extra);
  try {
    await three.proc.waitFor(/subscribed to/);
  } catch (e) {
    three.proc.kill('SIGKILL');
    throw e;
  }
  return [startNode(1, o, extra), startNode(2, o, extra), three];
}

/** SIGKILL every instance and wait until each has exited: no test leaves a tracker behind. */
export async function killAll(nodes: readonly Node[]): Promise<void> {
  for (const n of nodes) n.proc.kill('SIGKILL');
  await Promise.all(nodes.map((n) => n.proc.exited()));
}

/** Run `body`; when it fails, print the last lines of every instance's log first (CI keeps nothing else). */
export async function logsOnFailure(nodes: readonly Node[], body: () => Promise<void>, lines = 25): Promise<void> {
  try {
    await body();
  } catch (e) {
    for (const n of nodes) {
      const tail = n.proc.stderr().trimEnd().split('\n').slice(-lines).join('\n');
      process.stdout.write(`--- last ${lines} log lines of instance ${n.id}\n${tail}\n`);
    }
    throw e;
  }
}

export type ClusterCtx = { nodes: Node[]; clients: TestClient[]; dir: ReturnType<typeof tempDir> };

/** A suite that closes its clients and kills its instances after each test, and removes its folder at the end. */
export function clusterSuite(name: string, dirPrefix: string): Test<ClusterCtx> {
  const test = suite<ClusterCtx>(name, { nodes: [], clients: [], dir: tempDir(dirPrefix) });
  test.after.each(async (ctx) => {
    for (const c of ctx.clients) await c.close();
    await killAll(ctx.nodes);
    ctx.nodes = [];
    ctx.clients = [];
  });
  test.after((ctx) => ctx.dir.remove());
  return test;
}
