import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BrokerBridge, connectBroker } from '../streams/broker/stomp-bridge.js';
import { type Acker, fillTo, gaps, type LoadgenRun, loadgen, metric, missingAfterSettling, scrape, startAcker } from './join-load.js';
import { numberFlag, printHelp, runBounded, stopOnSignals } from './cli.js';
import {
  brokerScript as runBrokerScript,
  freeUdpPort,
  logTail,
  logText,
  spawnTracker,
  stopTracker as stopProc,
  type TrackerProc,
} from './tracker-procs.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const { values: argv } = parseArgs({
  options: {
    loadgen: { type: 'string' },
    peers: { type: 'string' },
    stops: { type: 'string' },
    'load-window': { type: 'string' },
    swarms: { type: 'string' },
    victim: { type: 'string' },
    heartbeat: { type: 'string' },
    settle: { type: 'string' },
    'step-timeout': { type: 'string' },
    target: { type: 'string' },
    timeout: { type: 'string' },
    verbose: { type: 'boolean' },
    help: { type: 'boolean' },
  },
});
if (argv.help) printHelp(fileURLToPath(import.meta.url));
const bad = (name: string, v: unknown): never => {
  process.stderr.write(`stop-slave-bench: bad --${name}: ${v}\n`);
  process.exit(2);
};
const num = numberFlag('stop-slave-bench');
const opts = {
  loadgen: resolve(argv.loadgen ?? join(ROOT, '.bench', 'loadgen')),
  peers: num(argv.peers, 300_000, 'peers'),
  stops: (argv.stops ?? '3,3,3,5,10').split(',').map((s) => (Number(s) > 0 ? Number(s) : bad('stops', argv.stops))),
  loadWindow: num(argv['load-window'], 8, 'load-window'),
  swarms: num(argv.swarms, 1000, 'swarms'),
  victim: argv.victim === undefined ? null : num(argv.victim, 0, 'victim'),
  heartbeat: num(argv.heartbeat, 1000, 'heartbeat'),
  settle: num(argv.settle, 5, 'settle'),
  stepTimeout: num(argv['step-timeout'], 30, 'step-timeout'),
  target: num(argv.target, 2, 'target'),
  timeout: num(argv.timeout, 1800, 'timeout'),
};

const log = (line: string): void => {
  process.stderr.write(`[stop-slave-bench ${new Date().toISOString().slice(11, 23)}] ${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- what we start (all stopped at the end)

type Tracker = TrackerProc;
const trackers: Tracker[] = [];
const generators = new Set<LoadgenRun>();
let acker: Acker | null = null;
let tap: BrokerBridge | null = null;
let brokerDir: string | null = null;
let tmp: string | null = null;

const text = logText;
const tail = logTail;

function startTracker(id: number, args: string[]): Tracker {
  const t = spawnTracker(ROOT, tmp!, id, args, argv.verbose);
  trackers.push(t);
  return t;
}

const stopTracker = (t: Tracker): Promise<void> => stopProc(t, log);
const brokerScript = (args: string[]) => runBrokerScript(ROOT, args);

let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all([...generators].map((g) => g.stop()));
    await acker?.stop();
    await tap?.close();
    await Promise.all(trackers.map(stopTracker));
    if (brokerDir) {
      const r = brokerScript(['stop', '--dir', brokerDir]);
      if (r.status !== 0) log(`broker.sh stop failed: ${r.stderr.trim()}`);
      brokerDir = null;
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    tmp = null;
  })();
  return cleaning;
}
// Last resort when the process ends some other way: nothing may outlive the benchmark (nor stay stopped).
process.on('exit', () => {
  for (const g of generators) g.child.kill('SIGKILL');
  for (const t of trackers) if (!t.exited) t.child.kill('SIGKILL');
  if (brokerDir) brokerScript(['stop', '--dir', brokerDir]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});
stopOnSignals(cleanup, log);

// ---------------------------------------------------------------- roles, from the logs

const ROLE = /role (\w+) \(epoch (\d+)(?:, master (\d+))?\)/;
type RoleNow = { role: string; epoch: number; master: number | null };
const roleOf = (t: Tracker): RoleNow | null => {
  for (let i = t.lines.length - 1; i >= 0; i--) {
    const m = ROLE.exec(t.lines[i]!.text);
    if (m) return { role: m[1]!, epoch: Number(m[2]), master: m[3] === undefined ? null : Number(m[3]) };
  }
  return null;
};

async function until<T>(what: () => T | null | undefined | false, timeoutMs: number, stepMs = 20): Promise<T | null> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = what();
    if (v) return v;
    if (Date.now() > end) return null;
    await sleep(stepMs);
  }
}

/** The Master every instance agrees on and two Slaves of it (each last role line), or null. */
const settledRoles = (): { master: Tracker; slaves: Tracker[]; epoch: number } | null => {
  const roles = trackers.map(roleOf);
  const mi = roles.findIndex((r) => r?.role === 'master');
  if (mi < 0) return null;
  const m = trackers[mi]!;
  const epoch = roles[mi]!.epoch;
  if (!/holding the service address/.test(text(m))) return null;
  const slaves = trackers.filter((_, i) => roles[i]?.role === 'slave' && roles[i]?.master === m.id && roles[i]?.epoch === epoch);
  return slaves.length === trackers.length - 1 ? { master: m, slaves, epoch } : null;
};

// ---------------------------------------------------------------- the tap on the cluster topic

type Beat = { at: number; from: number; role: string; epoch: number; applied: number };
type Vote = { at: number; from: number; seq: number; ok: boolean };
type Commit = { at: number; from: number; epoch: number; seq: number };
const heard = {
  beats: [] as Beat[],
  votes: [] as Vote[],
  commits: [] as Commit[],
  syncRequests: [] as { at: number; from: number; applied: number }[],
};
const lastCommit = (): Commit | null => heard.commits.at(-1) ?? null;

function startTap(brokerPort: number, topic: string, credentials: string): Promise<void> {
  const [login, passcode] = readFileSync(credentials, 'utf8').split('\n');
  tap = connectBroker({
    url: `stomp://127.0.0.1:${brokerPort}`,
    topic,
    login: login!.trim(),
    passcode: passcode!.trim(),
    // PREPAREs (the batches) and transfer traffic stay off this connection: the broker does little for us.
    selector: "trackerType IN ('keepalive', 'vote', 'commit', 'sync-request')",
    log: (s) => log(`tap: ${s}`),
  });
  tap.messages$.subscribe((raw) => {
    const m = raw as Record<string, unknown>;
    const at = Date.now();
    const from = Number(m.from);
    switch (m.type) {
      case 'keepalive':
        heard.beats.push({ at, from, role: String(m.role), epoch: Number(m.epoch), applied: Number(m.applied) });
        return;
      case 'vote':
        heard.votes.push({ at, from, seq: Number(m.seq), ok: m.ok === true });
        return;
      case 'commit':
        heard.commits.push({ at, from, epoch: Number(m.epoch), seq: Number(m.seq) });
        return;
      case 'sync-request':
        heard.syncRequests.push({ at, from, applied: Number(m.applied) });
        return;
    }
  });
  return new Promise((r) => {
    const s = tap!.connected$.subscribe((up) => {
      if (up) {
        r();
        queueMicrotask(() => s.unsubscribe());
      }
    });
  });
}
/** Drop what the tap kept before `t` (memory stays small over long runs). */
const forgetBefore = (t: number): void => {
  heard.votes = heard.votes.filter((v) => v.at >= t);
  heard.beats = heard.beats.filter((b) => b.at >= t);
  if (heard.commits.length > 1) heard.commits = heard.commits.filter((c, i) => c.at >= t || i === heard.commits.length - 1);
};

// ---------------------------------------------------------------- one stop

type Run = {
  n: number;
  stopS: number;
  victim: number;
  master: number;
  stoppedAt: string;
  /** Real length of the pause (SIGSTOP to SIGCONT), ms. */
  pausedMs: number;
  /** The Master's last COMMIT the tap heard at SIGSTOP and at SIGCONT: rounds the Slave missed. */
  commitAtStop: number | null;
  commitAtCont: number | null;
  /** From SIGCONT, ms; null when not seen within --step-timeout. */
  inStepVoteMs: number | null;
  inStepLineMs: number | null;
  caughtUpKeepaliveMs: number | null;
  inStepLine: string | null;
  /** What the logs show, in order of first appearance on the Slave. */
  path: string[];
  cutOff: boolean;
  brokerLost: boolean;
  resumed: boolean;
  syncRequests: number;
  transfer: string | null;
  /** `catch-up of instance <victim> from the log: K rounds` on whichever instance served it. */
  catchUpRounds: number | null;
  /** Snapshot transfers started (any instance's log) to the paused Slave, and to the others. */
  snapshots: number;
  snapshotsToOthers: number[];
  /** The Master after the run (another one: the paused Slave's return caused a change of Master). */
  masterAfter: number | null;
  elections: number[];
  electingLines: number;
  otherDown: boolean;
  longestGapStopMs: number;
  longestGapRunMs: number;
  acksDuringStop: number;
  missingInVictim: number | null;
  loadAvg1: number;
  transfersSent: Record<string, Record<string, number>>;
  roundLogRounds: number | null;
  sequence: string[];
};

const INTERESTING =
  /role |state transfer|catch-up|in step|resynchronis|broker|is down|cut off|isolat|echo|suspend|resum|election|coordinator|error|warn|vote|ABORT|abort/i;

async function metricsOf(t: Tracker): Promise<string> {
  return t.metricsPort === null || t.exited ? '' : scrape(t.metricsPort).catch(() => '');
}
const transferCounts = (m: string, direction: string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const kind of ['log', 'snapshot'])
    for (const outcome of ['done', 'failed', 'aborted', 'superseded']) {
      const v = metric(m, 'tracker_state_transfers_total', { direction, kind, outcome });
      if (v) out[`${kind}/${outcome}`] = v;
    }
  return out;
};
const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (b[k] ?? 0) - (a[k] ?? 0);
    if (d) out[k] = d;
  }
  return out;
};

async function stopOnce(n: number, stopS: number): Promise<Run> {
  const roles = await until(settledRoles, 30_000);
  if (!roles)
    throw new Error(`run ${n}: no settled Master with two Slaves:\n${trackers.map((t) => `tracker ${t.id}:\n${tail(t)}`).join('\n')}`);
  const { master, slaves, epoch } = roles;
  const victim = slaves.find((s) => s.id === opts.victim) ?? slaves.sort((a, b) => a.id - b.id)[0]!;
  const sentBefore = (await Promise.all(trackers.map(metricsOf))).map((m) => transferCounts(m, 'sent'));
  forgetBefore(Date.now() - 5000);
  const lineMark = trackers.map((t) => t.lines.length);

  log(`run ${n}: SIGSTOP tracker ${victim.id} (Slave of ${master.id}, epoch ${epoch}) for ${stopS} s`);
  const loadAvg1 = os.loadavg()[0]!;
  victim.paused = true;
  process.kill(victim.pid, 'SIGSTOP');
  const tStop = Date.now();
  const commitAtStop = lastCommit()?.seq ?? null;
  await sleep(stopS * 1000);
  process.kill(victim.pid, 'SIGCONT');
  const tCont = Date.now();
  victim.paused = false;
  const commitAtCont = lastCommit()?.seq ?? null;
  log(
    `run ${n}: SIGCONT (the Master's last commit ${commitAtCont}, ${commitAtStop === null || commitAtCont === null ? '?' : commitAtCont - commitAtStop} since SIGSTOP)`,
  );

  // In step: its first OK vote after SIGCONT (the primary figure); the `in step` line; the keepalive.
  // A vote on a round the Master prepared after SIGCONT: the Slave may still vote on a PREPARE it read from its
  // socket's backlog (a round of before the pause), which says nothing about being in step now.
  const vote = await until(
    () => heard.votes.find((v) => v.from === victim.id && v.ok && v.at >= tCont && (commitAtCont === null || v.seq > commitAtCont)),
    opts.stepTimeout * 1000,
  );
  const inStepVoteMs = vote ? vote.at - tCont : null;
  // The line comes before the vote when there is a transfer: give it a moment more only if none arrived.
  const stepLine = await until(
    () => victim.lines.slice(lineMark[trackers.indexOf(victim)]).find((l) => /in step at commit/.test(l.text) && l.stamp >= tCont - 50),
    vote ? 500 : 1000,
  );
  const beat =
    commitAtCont === null
      ? null
      : await until(
          () => heard.beats.find((b) => b.from === victim.id && b.at >= tCont && b.role === 'slave' && b.applied >= commitAtCont),
          vote ? 3 * opts.heartbeat : 1000,
        );
  const tEnd = Math.max(tCont, vote?.at ?? tCont, stepLine?.stamp ?? tCont);
  log(
    `run ${n}: in step ${inStepVoteMs === null ? `not within ${opts.stepTimeout} s` : `${inStepVoteMs} ms after SIGCONT (first OK vote)`}` +
      (stepLine ? `; its line ${stepLine.stamp - tCont} ms` : '; no `in step` line'),
  );
  await sleep(opts.settle * 1000);
  const tSettled = Date.now();

  // What the logs say between SIGSTOP and in step (+1 s).
  // Everything up to the end of the settling time counts; the sequence printed stops 1.5 s after in step.
  const lines = trackers.map((t, i) => t.lines.slice(lineMark[i]).filter((l) => l.stamp >= tStop - 200 && l.stamp <= tSettled));
  const vLines = lines[trackers.indexOf(victim)]!;
  const mLines = lines[trackers.indexOf(master)]!;
  const allText = lines.flat().map((l) => l.text);
  const vText = vLines.map((l) => l.text);
  const mText = mLines.map((l) => l.text);
  const path: string[] = [];
  for (const l of vText) {
    const m = ROLE.exec(l);
    const step = m
      ? `role ${m[1]}`
      : /broker connection lost/.test(l)
        ? 'broker lost'
        : /broker connection back/.test(l)
          ? 'broker back'
          : /resynchronising/.test(l)
            ? 'resync'
            : /state transfer requested/.test(l)
              ? 'sync-request'
              : /state transfer complete/.test(l)
                ? `transfer (${/\((log|snapshot) from/.exec(l)?.[1] ?? '?'})`
                : /in step at commit/.test(l)
                  ? 'in step'
                  : /is down/.test(l)
                    ? 'saw an instance down'
                    : null;
    if (step && path.at(-1) !== step) path.push(step);
  }
  const catchUp = allText
    .map((l) => /catch-up of instance (\d+) from the log: (\d+) rounds/.exec(l))
    .find((m) => m && Number(m[1]) === victim.id);
  const snapshotTo = allText
    .map((l) => /state transfer to instance (\d+): snapshot/.exec(l))
    .filter((m) => m !== null)
    .map((m) => Number(m![1]));
  const elections = [
    ...new Set(
      allText
        .map((l) => ROLE.exec(l))
        .filter((m) => m && Number(m[2]) > epoch)
        .map((m) => Number(m![2])),
    ),
  ];
  const after = await Promise.all(trackers.map(metricsOf));
  const sentAfter = after.map((m) => transferCounts(m, 'sent'));
  const acks = acker!.acks;
  const times = acks.map((a) => a.at);
  const gStop = gaps(times, tStop, tCont);
  const gRun = gaps(times, tStop, tSettled);
  // Durability: every announce acknowledged until a second before now, in the Slave's file.
  const upTo = Date.now() - 1000;
  const [missingInVictim] = await missingAfterSettling(
    [victim.db],
    acks.filter((a) => a.at <= upTo),
    15_000,
  );
  const sequence = lines
    .flatMap((ls, i) => ls.filter((l) => l.stamp <= tEnd + 1500 && INTERESTING.test(l.text)).map((l) => ({ ...l, id: trackers[i]!.id })))
    .sort((a, b) => a.stamp - b.stamp)
    .map((l) => `${l.stamp - tCont >= 0 ? '+' : ''}${((l.stamp - tCont) / 1000).toFixed(3)} s  ${l.text.slice(11)}`);
  sequence.unshift(`-${(stopS).toFixed(3)} s  (SIGSTOP tracker ${victim.id})`, `+0.000 s  (SIGCONT tracker ${victim.id})`);
  sequence.sort((a, b) => parseFloat(a) - parseFloat(b));
  if (vote) sequence.push(`+${(inStepVoteMs! / 1000).toFixed(3)} s  (tap: first OK vote of tracker ${victim.id}, round ${vote.seq})`);
  return {
    n,
    stopS,
    victim: victim.id,
    master: master.id,
    stoppedAt: new Date(tStop).toISOString(),
    pausedMs: tCont - tStop,
    commitAtStop,
    commitAtCont,
    inStepVoteMs,
    inStepLineMs: stepLine ? stepLine.stamp - tCont : null,
    caughtUpKeepaliveMs: beat ? beat.at - tCont : null,
    inStepLine: stepLine ? stepLine.text.slice(25) : null,
    path,
    cutOff: vText.some((l) => /role isolated|cut off/.test(l)),
    brokerLost: vText.some((l) => /broker connection lost|disconnected/.test(l)),
    resumed: vText.some((l) => /role resuming/.test(l)),
    syncRequests: vText.filter((l) => /state transfer requested/.test(l)).length,
    transfer: vText.map((l) => /state transfer complete: .*\((log|snapshot) from/.exec(l)?.[1]).find((x) => x) ?? null,
    catchUpRounds: catchUp ? Number(catchUp[2]) : null,
    snapshots: snapshotTo.filter((id) => id === victim.id).length,
    snapshotsToOthers: snapshotTo.filter((id) => id !== victim.id),
    masterAfter: (() => {
      const r = trackers.map(roleOf);
      const i = r.findIndex((x) => x?.role === 'master');
      return i < 0 ? null : trackers[i]!.id;
    })(),
    elections,
    electingLines: allText.filter((l) => /role electing/.test(l)).length,
    otherDown: mText.some((l) => new RegExp(`instance ${victim.id} \\(\\w+\\) is down`).test(l)),
    longestGapStopMs: gStop.longestGapMs,
    longestGapRunMs: gRun.longestGapMs,
    acksDuringStop: gStop.acks,
    missingInVictim: missingInVictim ?? null,
    loadAvg1: Math.round(loadAvg1 * 100) / 100,
    transfersSent: Object.fromEntries(
      trackers
        .map((t, i) => [`tracker${t.id}`, diff(sentBefore[i]!, sentAfter[i]!)])
        .filter(([, d]) => Object.keys(d as object).length > 0),
    ),
    roundLogRounds: metric(after[trackers.indexOf(master)]!, 'tracker_round_log_rounds'),
    sequence,
  };
}

// ---------------------------------------------------------------- main

const thousands = (x: number): string => x.toLocaleString('en-US');
const ms = (x: number | null): string => (x === null ? '—' : `${(x / 1000).toFixed(2)} s`);

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'main.js'))) throw new Error('dist/main.js missing: build first (npm run bench:stop-slave does)');
  if (!existsSync(opts.loadgen)) throw new Error(`${opts.loadgen} missing: compile scripts/loadgen.c (npm run bench:stop-slave does)`);
  const began = Date.now();
  const deadline = began + opts.timeout * 1000;
  tmp = mkdtempSync(join(os.tmpdir(), 'stop-slave-bench-'));
  brokerDir = join(tmp, 'broker');
  const b = brokerScript(['start', '--port', '0', '--dir', brokerDir]);
  const brokerPort = Number(b.stdout.trim().split('\n').at(-1));
  if (b.status !== 0 || !Number.isInteger(brokerPort) || brokerPort <= 0) throw new Error(`broker did not start: ${b.stderr.trim()}`);
  const port = await freeUdpPort();
  const topic = `stop-slave-bench-${process.pid}`;
  const credentials = join(brokerDir, 'credentials');
  const common = [
    ...['--broker', `stomp://127.0.0.1:${brokerPort}`, '--broker-credentials', credentials, '--topic', topic],
    ...['--port', String(port), '--cluster-size', '3', '--heartbeat', String(opts.heartbeat)],
    ...['--interval', '1800', '--peer-ttl', '3600', '--metrics-port', '0', '--headless'],
  ];
  await startTap(brokerPort, topic, credentials);
  log(`broker on ${brokerPort}; trackers 1, 2, 3 on udp://127.0.0.1:${port} (shared, as scripts/cluster.sh)`);
  for (const id of [1, 2, 3]) startTracker(id, common);
  const roles = await until(settledRoles, 30_000);
  if (!roles) throw new Error(`no Master with two Slaves within 30 s:\n${trackers.map((t) => `tracker ${t.id}:\n${tail(t)}`).join('\n')}`);
  log(`tracker ${roles.master.id} is Master (epoch ${roles.epoch})`);
  const masterMetrics = await until(() => roles.master.metricsPort, 5000);
  if (masterMetrics === null) throw new Error(`tracker ${roles.master.id} logged no metrics port`);

  log(`filling with ${thousands(opts.peers)} peers over ${opts.swarms} swarms (256 in flight)`);
  const fill = await fillTo({
    port,
    target: opts.peers,
    swarms: opts.swarms,
    held: async () => metric(await scrape(masterMetrics), 'tracker_peers') ?? 0,
    loadgen: opts.loadgen,
    deadline,
    onRun: (r) => {
      generators.add(r);
      void r.result.then(() => generators.delete(r));
    },
    progress: (held) => log(`  ${thousands(held)} peers held`),
  });
  log(`filled: ${thousands(fill.held)} peers in ${fill.seconds} s`);

  acker = await startAcker('127.0.0.1', port);
  if (opts.loadWindow > 0) generators.add(loadgen(opts.loadgen, port, opts.loadWindow, opts.timeout, opts.swarms));
  await sleep(3000);
  const tLoad = Date.now();
  const roundsPerS = (): number => {
    const c = heard.commits.filter((x) => x.at >= Date.now() - 2000);
    return c.length < 2 ? 0 : (c.at(-1)!.seq - c[0]!.seq) / ((c.at(-1)!.at - c[0]!.at) / 1000);
  };
  const rate = Math.round(roundsPerS());
  const acksBefore = acker.acks.length;
  await sleep(2000);
  const ackRate = Math.round((acker.acks.length - acksBefore) / 2);
  log(`load: ${opts.loadWindow} in flight + the recording client; about ${rate} rounds/s, the client ${ackRate} acks/s`);

  const runs: Run[] = [];
  for (const [i, s] of opts.stops.entries()) {
    if (Date.now() + (s + opts.stepTimeout + opts.settle + 30) * 1000 > deadline) {
      log(`not enough time left for a ${s} s stop: skipped`);
      break;
    }
    const r = await stopOnce(i + 1, s);
    runs.push(r);
    // As it goes, so an interrupted benchmark still shows what it measured.
    log(`run ${r.n}: ${r.path.join(' → ')}`);
    for (const l of r.sequence) log(`  ${l}`);
    log(`run ${r.n}: ${JSON.stringify({ ...r, sequence: undefined })}`);
  }

  const tEnd = Date.now();
  await Promise.all([...generators].map((g) => g.stop()));
  await acker.stop();
  const acks = acker.acks;
  log(`looking up ${thousands(acks.length)} acknowledged announces in the three SQLite files`);
  await sleep(2000);
  const missing = await missingAfterSettling(
    trackers.map((t) => t.db),
    acks,
    15_000,
  );
  const loadGaps = gaps(
    acks.map((a) => a.at),
    tLoad,
    tEnd,
  );
  const peers = metric(await scrape(masterMetrics).catch(() => ''), 'tracker_peers');

  const within = (r: Run): boolean =>
    r.inStepVoteMs !== null &&
    r.inStepVoteMs <= opts.target * 1000 &&
    r.snapshots === 0 &&
    r.transfer !== 'snapshot' &&
    r.elections.length === 0 &&
    r.snapshotsToOthers.length === 0;
  const head = [
    'run',
    'stop',
    'slave',
    'rounds missed',
    'path on the Slave',
    'transfer',
    'in step: vote',
    'line',
    'keepalive',
    'elections',
    'Master after',
    'snapshots to others',
    'gap (stop)',
    'gap (stop→settled)',
    'missing',
    'load1',
  ];
  const rows = runs.map((r) => [
    String(r.n),
    `${(r.pausedMs / 1000).toFixed(2)} s`,
    `${r.victim} (M ${r.master})`,
    r.commitAtStop === null || r.commitAtCont === null ? '?' : thousands(r.commitAtCont - r.commitAtStop),
    r.path.join(' → '),
    r.transfer === null ? 'none' : `${r.transfer}${r.catchUpRounds !== null ? ` ${thousands(r.catchUpRounds)} rounds` : ''}`,
    ms(r.inStepVoteMs),
    ms(r.inStepLineMs),
    ms(r.caughtUpKeepaliveMs),
    r.elections.length ? `epochs ${r.elections.join(',')}` : r.electingLines ? `${r.electingLines} electing` : '0',
    String(r.masterAfter ?? '?'),
    r.snapshotsToOthers.length ? r.snapshotsToOthers.join(',') : '0',
    ms(r.longestGapStopMs),
    ms(r.longestGapRunMs),
    r.missingInVictim === null ? '?' : String(r.missingInVictim),
    r.loadAvg1.toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const out = [
    `A Slave SIGSTOPped under load: ${thousands(peers ?? fill.held)} peers, ${opts.loadWindow} announces in flight + a recording client ` +
      `(${rate} rounds/s, ${ackRate} acks/s), heartbeat ${opts.heartbeat} ms, ${os.availableParallelism()} CPUs, Node ${process.version}`,
    'in step: vote = its first OK vote (tap) on a round after the Master’s commit at SIGCONT; line = its `in step at commit` line; keepalive = its first keepalive as Slave at the Master’s commit of SIGCONT',
    '',
    fmt(head),
    ...rows.map(fmt),
    '',
    `criterion (in step by vote within ${opts.target} s, from the log, no snapshot to anyone, no election): ${runs.filter(within).length} of ${runs.length} runs`,
    `longest gap between acknowledged announces over the whole load: ${ms(loadGaps.longestGapMs)}; ${thousands(acks.length)} acknowledged`,
    ...trackers.map((t, i) => `tracker ${t.id} SQLite: ${thousands(acks.length - missing[i]!)} found, ${thousands(missing[i]!)} missing`),
    '',
  ];
  for (const r of runs) {
    out.push(`run ${r.n} (${r.stopS} s, tracker ${r.victim}), from SIGCONT; transfers sent: ${JSON.stringify(r.transfersSent)}`);
    for (const l of r.sequence) out.push(`  ${l}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  const json = {
    peers: peers ?? fill.held,
    fill,
    loadWindow: opts.loadWindow,
    heartbeatMs: opts.heartbeat,
    roundsPerSecond: rate,
    clientAcksPerSecond: ackRate,
    cpus: os.availableParallelism(),
    runs: runs.map(({ sequence: _, ...r }) => r),
    criterionMet: runs.filter(within).length,
    acknowledged: acks.length,
    longestGapMs: loadGaps.longestGapMs,
    missing: Object.fromEntries(trackers.map((t, i) => [`tracker${t.id}`, missing[i]])),
    seconds: Math.round((Date.now() - began) / 1000),
  };
  process.stdout.write(`${JSON.stringify(json)}\n`);
}

await runBounded(main, { timeoutS: opts.timeout, cleanup, stopping: () => cleaning !== null, log });
