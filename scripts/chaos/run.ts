/**
 * The chaos runner: three trackers (--cluster-size 3) on a broker pair of its own, clients announcing through
 * the service address all along, and a seeded schedule of faults applied one after another. After each fault it
 * waits for an announce sent after the fault to be acknowledged (the recovery time), repairs what the fault did
 * (a killed tracker restarted with its ID, a killed broker half started again as the waiting half, SIGCONT, the
 * link back) and waits for the cluster to be whole again before the next. At the end the load stops and the
 * checker (check.ts) reads the repositories at rest, the per-request record and every process's log. With
 * `preload`, the cluster is first filled with that many peers (preload.ts) once it has formed, before the load
 * and the faults: every restart and join then takes the whole repository by state transfer.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { eventually, newTopic, type Node } from '../../spec/helpers/cluster.js';
import { run } from '../../spec/helpers/process.js';
import { type AtRest, check, type FaultResult, table, type Verdict } from './check.js';
import { type Load, type LoadRecord, startLoad } from './load.js';
import { loopbackNet, type Net, netnsNet } from './net.js';
import { type PreloadResult, preload } from './preload.js';
import { type Scan, scanRepository } from './rest.js';
import { CATALOGUE, type Fault, type FaultKind, KINDS, schedule } from './schedule.js';

export type ChaosOpts = {
  readonly seed: number;
  /** A fixed number of faults (the short schedule), or as many as fit in `minutes`. */
  readonly faults?: number;
  readonly minutes?: number;
  readonly heartbeatMs: number;
  readonly netns: boolean;
  /** Work folder (broker pair, SQLite files, logs). */
  readonly dir: string;
  readonly kinds?: readonly FaultKind[];
  /** Peers to fill the cluster with (over 1,000 swarms) before the faults; none when left out. */
  readonly preload?: number;
  readonly progress: (line: string) => void;
};

export type ChaosReport = {
  readonly seed: number;
  readonly net: Net['kind'];
  readonly faults: readonly FaultResult[];
  readonly verdicts: readonly Verdict[];
  readonly record: LoadRecord;
  readonly table: string;
  readonly durationMs: number;
  readonly preload: PreloadResult | null;
};

type Half = 'a' | 'b';
const IDS = [1, 2, 3] as const;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const alive = (n: Node): boolean => n.proc.child.exitCode === null && n.proc.child.signalCode === null;
const lastRole = (n: Node): string => [...n.proc.stderr().matchAll(/role (\w+)/g)].pop()?.[1] ?? 'none';
/** A killed instance's SQLite file is never read again (a restart takes a new one): free the disk at once. */
const removeDb = (n: Node): void => {
  for (const f of [n.db, `${n.db}-wal`, `${n.db}-shm`, `${n.db}-journal`]) rmSync(f, { force: true });
};

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** The broker pair (scripts/broker.sh), on the topology's broker address. */
function brokerPair(dir: string, host: string) {
  const sh = (...args: string[]): Promise<string> =>
    new Promise((resolve, reject) =>
      execFile('bash', ['scripts/broker.sh', ...args], { timeout: 90_000, env: { ...process.env, BROKER_HOST: host } }, (e, out, err) =>
        e ? reject(new Error(`${e.message}\n${err}`)) : resolve(out),
      ),
    );
  const ports: number[] = [];
  const stopped = new Set<number>();
  const pidOf = (half: Half): number => Number(readFileSync(join(dir, half, 'broker.pid'), 'utf8').trim());
  const portOf = (half: Half): number => ports[half === 'a' ? 0 : 1]!;
  return {
    async start(): Promise<string> {
      const out = (await sh('start-pair', '--ports', '0,0', '--dir', dir)).trim().split('\n').pop()!;
      ports.splice(0, 2, ...out.split(',').map(Number));
      return ports.map((p) => `stomp://${host}:${p}`).join(',');
    },
    async serving(): Promise<Half> {
      return (await portOpen(host, portOf('a'))) ? 'a' : 'b';
    },
    signal(half: Half, sig: NodeJS.Signals): void {
      const pid = pidOf(half);
      process.kill(pid, sig);
      if (sig === 'SIGSTOP') stopped.add(pid);
      else stopped.delete(pid);
    },
    alive(half: Half): boolean {
      try {
        process.kill(pidOf(half), 0);
        return true;
      } catch {
        return false;
      }
    },
    restart: (half: Half) => sh('start', '--port', String(portOf(half)), '--dir', join(dir, half), '--shared', join(dir, 'shared')),
    async stop(): Promise<void> {
      for (const pid of stopped) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          /* gone */
        }
      }
      await sh('stop-pair', '--dir', dir).catch(() => '');
    },
  };
}

export function createChaos(o: ChaosOpts) {
  const hb = o.heartbeatMs;
  const topic = newTopic();
  const procs: Node[] = []; // every tracker process ever started, for the logs
  const current = new Map<number, Node>();
  const stoppedPids = new Set<number>();
  let net: Net | null = null;
  let pair: ReturnType<typeof brokerPair> | null = null;
  let load: Load | null = null;
  const generators = new Set<ChildProcess>();
  let preloaded: PreloadResult | null = null;
  let scans: Scan[] = [];
  let brokers = '';
  const t0 = Date.now();
  const say = (line: string): void => o.progress(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);

  const startTracker = (id: number): Node => {
    const n = net!;
    const db = join(o.dir, `tracker-${id}-${randomBytes(3).toString('hex')}.sqlite`);
    // The pair refuses unauthenticated clients: broker.sh wrote the login into its folder.
    const credentials = join(o.dir, 'broker', 'credentials');
    const args = [
      '--id',
      String(id),
      '--broker',
      brokers,
      '--broker-credentials',
      credentials,
      '--topic',
      topic,
      '--port',
      String(n.port),
      '--db',
      db,
    ];
    const proc = run([...args, '--heartbeat', String(hb), '--cluster-size', '3', '--headless', ...n.args(id)], {}, n.prefix(id));
    const node: Node = { id, proc, db };
    // The floating service address follows whoever took it last (netns; nothing to do on loopback).
    let seen = 0;
    proc.child.stderr!.on('data', () => {
      const text = proc.stderr();
      const at = text.indexOf('holding the service address', seen);
      seen = Math.max(seen, text.length - 64);
      if (at >= 0) n.follow(id);
    });
    procs.push(node);
    current.set(id, node);
    return node;
  };

  const master = (): Node | undefined => [...current.values()].find((n) => alive(n) && lastRole(n) === 'master');
  const slaves = (): Node[] => [...current.values()].filter((n) => alive(n) && lastRole(n) === 'slave').sort((a, b) => a.id - b.id);
  const signal = (n: Node, sig: NodeJS.Signals): void => {
    n.proc.kill(sig);
    if (sig === 'SIGSTOP') stoppedPids.add(n.proc.child.pid!);
    else stoppedPids.delete(n.proc.child.pid!);
  };

  /** Three live instances, one Master (holding the service address) and two Slaves, both broker halves up. */
  const whole = (): boolean => {
    const ns = IDS.map((id) => current.get(id)).filter((n): n is Node => !!n && alive(n));
    if (ns.length !== 3 || !pair!.alive('a') || !pair!.alive('b')) return false;
    const roles = ns.map(lastRole);
    return roles.filter((r) => r === 'master').length === 1 && roles.filter((r) => r === 'slave').length === 2;
  };
  /**
   * Whole again and an announce sent after `from` acknowledged: ms since `from`, or null after `ms`. Whole must
   * hold for 2 keepalive intervals on end: an instance back from a cut-off notices a silent Master only then.
   */
  const wholeAgain = async (from: number, ms = 45_000): Promise<number | null> => {
    const end = from + ms;
    let since = 0;
    let wholeAt = 0;
    while (Date.now() < end) {
      if (!whole()) since = 0;
      else if (!since) since = Date.now();
      else if (Date.now() - since >= 2 * hb) {
        wholeAt = since;
        break;
      }
      await sleep(50);
    }
    if (!wholeAt) return null;
    const a = await load!.ackAfter(wholeAt, Math.max(1000, end - Date.now()));
    return a ? a.at - from : null;
  };

  const apply = async (f: Fault, i: number, total: string): Promise<FaultResult> => {
    const bound = CATALOGUE[f.kind].boundMs(hb, f.holdMs);
    const cap = Math.max(3 * bound, bound + 10_000);
    let target = '';
    let at = 0;
    let repair: () => Promise<void>;
    let joiner = null as Node | null; // a restarted instance (kill-*, join)
    const tracker = async (): Promise<Node> => {
      const pick = (): Node | undefined => (f.kind.endsWith('master') ? master() : slaves()[f.pick]);
      const n = await eventually(pick, (x) => !!x, 30_000, 50);
      if (!n) throw new Error(`no target for ${f.kind}: roles ${[...current.values()].map((x) => `${x.id}=${lastRole(x)}`).join(' ')}`);
      target = `tracker ${n.id}`;
      return n;
    };
    switch (f.kind) {
      case 'kill-master':
      case 'kill-slave':
      case 'join': {
        const n = await tracker();
        at = Date.now();
        signal(n, 'SIGKILL');
        await n.proc.exited();
        removeDb(n);
        repair = async () => {
          // A killed instance comes back once the survivors serve; a joiner at once, empty: it asks for the
          // whole repository while the other two go on committing.
          if (f.kind !== 'join') await load!.ackAfter(at, cap);
          joiner = startTracker(n.id);
        };
        break;
      }
      case 'stop-master':
      case 'stop-slave': {
        const n = await tracker();
        at = Date.now();
        signal(n, 'SIGSTOP');
        repair = async () => {
          await sleep(f.holdMs);
          signal(n, 'SIGCONT');
        };
        break;
      }
      case 'partition-master':
      case 'partition-slave': {
        const n = await tracker();
        at = Date.now();
        net!.cut(n.id);
        repair = async () => {
          await sleep(f.holdMs);
          net!.heal(n.id);
        };
        break;
      }
      case 'kill-broker': {
        const half = await pair!.serving();
        target = `broker ${half}`;
        at = Date.now();
        pair!.signal(half, 'SIGKILL');
        repair = async () => {
          await load!.ackAfter(at, cap);
          await pair!.restart(half);
        };
        break;
      }
      case 'stop-broker': {
        const half = await pair!.serving();
        target = `broker ${half}`;
        at = Date.now();
        pair!.signal(half, 'SIGSTOP');
        repair = async () => {
          await sleep(f.holdMs);
          pair!.signal(half, 'SIGCONT');
        };
        break;
      }
    }
    await repair();
    const repairedAt = Date.now();
    const ack = await load!.ackAfter(at, Math.max(0, at + cap - Date.now()));
    const recoveryMs = ack ? ack.at - at : null;
    const wholeMs = await wholeAgain(repairedAt);
    const hold = f.holdMs ? ` for ${(f.holdMs / 1000).toFixed(1)} s` : '';
    // What the restarted instance received: `state transfer complete: N records at commit S (snapshot from …)`.
    const got = joiner && /state transfer complete: (\d+) records at commit \d+ \((\w+) from instance (\d+)/.exec(joiner.proc.stderr());
    say(
      `fault ${i}${total}: ${f.kind} (${target}${hold}): acknowledged again after ${recoveryMs ?? 'never'} ms (bound ${bound}); ` +
        `whole again ${wholeMs === null ? 'NOT within 45 s' : `${wholeMs} ms after the repair`}` +
        (joiner ? `; ${got ? `took a ${got[2]} of ${got[1]} records from ${got[3]}` : 'no state transfer completed'}` : ''),
    );
    return { fault: f, target, at, boundMs: bound, recoveryMs, wholeMs };
  };

  /** Every tracker's log into the work folder (removed after a passing run unless kept); said when it failed. */
  const saveLogs = (failed = true): void => {
    const dir = join(o.dir, 'logs');
    mkdirSync(dir, { recursive: true });
    for (const n of procs) writeFileSync(join(dir, `tracker-${n.id}-${n.proc.child.pid}.log`), n.proc.stderr());
    if (failed) say(`logs kept in ${dir}`);
  };

  /** Which acknowledged announces no repository holds, when they were acknowledged, after which fault. */
  const explainLost = (results: readonly FaultResult[]): void => {
    const held = new Set<string>();
    for (const s of scans) for (const p of s.found) held.add(p);
    const lost = load!.record.acks.filter((a) => !held.has(a.peerId));
    const rel = (t: number): string => `+${((t - t0) / 1000).toFixed(2)} s`;
    const after = (t: number): string => {
      const f = [...results].reverse().find((r) => r.at <= t);
      return f ? `fault ${results.indexOf(f) + 1} ${f.fault.kind} (${f.target}) at ${rel(f.at)}` : 'no fault';
    };
    if (lost.length) {
      say(`${lost.length} acknowledged announces in no repository: acknowledged ${rel(lost[0]!.at)} … ${rel(lost[lost.length - 1]!.at)}`);
      say(`  first after ${after(lost[0]!.at)}; last after ${after(lost[lost.length - 1]!.at)}`);
    }
    writeFileSync(join(o.dir, 'logs', 'lost.json'), JSON.stringify(lost.map((a) => ({ ...a, sent: rel(a.sentAt), acked: rel(a.at) }))));
  };

  /**
   * The live repositories at rest: one bounded pass over each SQLite file per probe (rest.ts), again until every
   * one holds every acknowledged announce (and the preloaded peers) with equal digests, or 30 s pass (the mirror
   * is written asynchronously; a joiner's may still be catching up).
   */
  const atRest = async (): Promise<AtRest> => {
    const live = [...current.values()].filter(alive);
    const acked = new Set(load!.record.acks.map((a) => a.peerId));
    const started = Date.now();
    scans = await eventually(
      () => live.map((n) => scanRepository(n.db, acked)),
      (ss) => ss.every((x) => x.found.size === acked.size && x.digest === ss[0]!.digest && (!preloaded || x.preloaded === preloaded.peers)),
      30_000,
      250,
    );
    say(
      `repositories read at rest in ${Date.now() - started} ms: ${scans.map((x, j) => `tracker ${live[j]!.id} ${x.peers} peers`).join(', ')}`,
    );
    const digests = scans.map((x) => x.digest);
    const missing = live.map((n, j) => {
      const found = scans[j]!.found;
      let count = 0;
      const sample: string[] = [];
      for (const p of acked) {
        if (found.has(p)) continue;
        count++;
        if (sample.length < 3) sample.push(p);
      }
      return { id: n.id, count, sample };
    });
    const masters = await eventually(
      () => live.filter((n) => lastRole(n) === 'master').length,
      (m) => m === 1,
      10_000,
    );
    return {
      live: live.length,
      digestsEqual: digests.every((d) => d === digests[0]),
      missing,
      masters,
      ...(preloaded
        ? { preloaded: { expected: preloaded.peers, held: live.map((n, j) => ({ id: n.id, count: scans[j]!.preloaded })) } }
        : {}),
    };
  };

  return {
    async run(): Promise<ChaosReport> {
      try {
        return await this.runOnce();
      } catch (e) {
        saveLogs();
        throw e;
      }
    },
    async runOnce(): Promise<ChaosReport> {
      mkdirSync(o.dir, { recursive: true });
      net = o.netns ? netnsNet(IDS) : await loopbackNet();
      pair = brokerPair(join(o.dir, 'broker'), net.brokerHost);
      brokers = await pair.start();
      say(`seed ${o.seed}, ${net.kind} topology, brokers ${brokers}, service address ${net.serviceHost}:${net.port}, keepalive ${hb} ms`);
      const three = startTracker(3);
      await three.proc.waitFor(/subscribed to/, 20_000);
      startTracker(1);
      startTracker(2);
      if (!(await eventually(whole, (w) => w, 30_000, 50)))
        throw new Error(`the cluster did not form: ${[...current.values()].map((n) => `${n.id}=${lastRole(n)}`).join(' ')}`);
      if (o.preload) {
        say(`cluster formed (Master ${master()?.id}); preloading ${o.preload} peers over 1000 swarms through the service address`);
        preloaded = await preload({
          host: net.serviceHost,
          port: net.port,
          peers: o.preload,
          dir: o.dir,
          progress: say,
          started: (c) => {
            generators.add(c);
            c.once('exit', () => generators.delete(c));
          },
        });
        say(
          `preloaded: ${preloaded.peers} peers held after ${preloaded.seconds} s (${preloaded.perSecond}/s, ${preloaded.runs} run(s) of loadgen)`,
        );
      }
      load = await startLoad({ host: net.serviceHost, port: net.port, clients: 4, timeoutMs: 250, paceMs: 10 });
      const first = await load.ackAfter(0, 20_000);
      if (!first) throw new Error('no announce acknowledged within 20 s of the start');
      const loadStart = Date.now();
      say(`cluster formed (Master ${master()?.id}); load running`);

      const kinds = (o.kinds ?? KINDS).filter((k) => net!.kind === 'netns' || !CATALOGUE[k].netns);
      const plan = schedule(o.seed, o.faults ?? 100_000, { kinds });
      const total = o.faults ? `/${o.faults}` : '';
      const end = o.minutes ? loadStart + o.minutes * 60_000 : Number.POSITIVE_INFINITY;
      const results: FaultResult[] = [];
      for (const [i, f] of plan.entries()) {
        if (Date.now() + f.gapMs >= end) break;
        await sleep(f.gapMs);
        results.push(await apply(f, i + 1, total));
      }
      await load.stop(1000);
      const rest = await atRest();
      const logs = procs.map((n) => ({ id: n.id, text: n.proc.stderr() }));
      const verdicts = check(load.record, logs, results, rest);
      const durationMs = Date.now() - loadStart;
      const failed = verdicts.some((v) => !v.ok);
      saveLogs(failed);
      if (rest.missing.some((m) => m.count > 0)) explainLost(results);
      return {
        seed: o.seed,
        net: net.kind,
        faults: results,
        verdicts,
        record: load.record,
        table: table(results, load.record, verdicts, durationMs),
        durationMs,
        preload: preloaded,
      };
    },
    /** Stop everything this run started (also after an error or Ctrl-C). */
    async cleanup(): Promise<void> {
      for (const c of generators) c.kill('SIGKILL');
      if (load) await load.stop(0).catch(() => {});
      for (const pid of stoppedPids) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          /* gone */
        }
      }
      for (const n of procs) n.proc.kill('SIGKILL');
      await Promise.all(procs.map((n) => n.proc.exited()));
      if (pair) await pair.stop();
      net?.teardown();
    },
  };
}
