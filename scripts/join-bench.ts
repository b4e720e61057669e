import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type Acker,
  electionLines,
  fillTo,
  gaps,
  linesSince,
  type LoadgenRun,
  loadgen,
  metric,
  metricsPortIn,
  missingAfterSettling,
  newEpochs,
  rssOf,
  scrape,
  slaveOf,
  startAcker,
} from './join-load.js';
import {
  brokerScript as runBrokerScript,
  freeUdpPort,
  logTail,
  logText,
  spawnTracker,
  stopTracker as stopProc,
  type TrackerProc,
} from './tracker-procs.js';
import { numberFlag, printHelp, runBounded, stopOnSignals } from './cli.js';

const SLAVE_WITHIN_MS = 20_000;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const { values: argv } = parseArgs({
  options: {
    loadgen: { type: 'string' },
    peers: { type: 'string' },
    'load-window': { type: 'string' },
    swarms: { type: 'string' },
    heartbeat: { type: 'string' },
    'join-timeout': { type: 'string' },
    settle: { type: 'string' },
    timeout: { type: 'string' },
    verbose: { type: 'boolean' },
    help: { type: 'boolean' },
  },
});
if (argv.help) printHelp(fileURLToPath(import.meta.url));
const num = numberFlag('join-bench');
const opts = {
  loadgen: resolve(argv.loadgen ?? join(ROOT, '.bench', 'loadgen')),
  peers: num(argv.peers, 1_000_000, 'peers'),
  loadWindow: num(argv['load-window'], 8, 'load-window'),
  swarms: num(argv.swarms, 1000, 'swarms'),
  heartbeat: num(argv.heartbeat, 1000, 'heartbeat'),
  joinTimeout: num(argv['join-timeout'], 60, 'join-timeout'),
  settle: num(argv.settle, 3, 'settle'),
  timeout: num(argv.timeout, 900, 'timeout'),
};

const log = (line: string): void => {
  process.stderr.write(`[join-bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- what we start (all stopped at the end)

type Tracker = TrackerProc;
const trackers = new Set<Tracker>();
const generators = new Set<LoadgenRun>();
let acker: Acker | null = null;
let brokerDir: string | null = null;
let tmp: string | null = null;

const text = logText;
const tail = logTail;

function startTracker(id: number, args: string[]): Tracker {
  const t = spawnTracker(ROOT, tmp!, id, args, argv.verbose);
  trackers.add(t);
  return t;
}

/** The arrival time of the first line matching `re` at or after `from`; null on timeout; throws when it exits. */
async function lineAt(t: Tracker, re: RegExp, timeoutMs: number, from = 0): Promise<number | null> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const l = t.lines.find((x) => x.at >= from && re.test(x.text));
    if (l) return l.at;
    if (t.exited) throw new Error(`tracker ${t.id} exited (${await t.exit}) before ${re}:\n${tail(t)}`);
    if (Date.now() > end) return null;
    await sleep(20);
  }
}

async function stopTracker(t: Tracker): Promise<void> {
  await stopProc(t, log);
  trackers.delete(t);
}

const brokerScript = (args: string[]) => runBrokerScript(ROOT, args);

let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all([...generators].map((g) => g.stop()));
    await acker?.stop();
    await Promise.all([...trackers].map(stopTracker));
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
// Last resort when the process ends some other way: nothing may outlive the benchmark.
process.on('exit', () => {
  for (const g of generators) g.child.kill('SIGKILL');
  for (const t of trackers) t.child.kill('SIGKILL');
  if (brokerDir) brokerScript(['stop', '--dir', brokerDir]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});
stopOnSignals(cleanup, log);

// ---------------------------------------------------------------- output

const mb = (b: number | null): string => (b === null ? 'n/a' : `${(b / 2 ** 20).toFixed(1)} MB`);
const thousands = (x: number): string => x.toLocaleString('en-US');
const secs = (ms: number | null): string => (ms === null ? `not within ${opts.joinTimeout} s` : `${(ms / 1000).toFixed(2)} s`);
const orNa = (x: number | null, f: (v: number) => string = thousands): string => (x === null ? 'n/a' : f(x));

type Joiner = { id: number; toSlaveMs: number | null; rssBytes: number | null; peers: number | null; recordsReceived: number | null };

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'main.js'))) throw new Error('dist/main.js missing: build first (scripts/join-bench.sh does)');
  if (!existsSync(opts.loadgen)) throw new Error(`${opts.loadgen} missing: compile scripts/loadgen.c (scripts/join-bench.sh does)`);
  const began = Date.now();
  const deadline = began + opts.timeout * 1000;
  tmp = mkdtempSync(join(os.tmpdir(), 'join-bench-'));
  brokerDir = join(tmp, 'broker');
  const b = brokerScript(['start', '--port', '0', '--dir', brokerDir]);
  const brokerPort = Number(b.stdout.trim().split('\n').at(-1));
  if (b.status !== 0 || !Number.isInteger(brokerPort) || brokerPort <= 0) throw new Error(`broker did not start: ${b.stderr.trim()}`);
  const port = await freeUdpPort();
  const common = [
    '--broker',
    `stomp://127.0.0.1:${brokerPort}`,
    '--broker-credentials',
    join(brokerDir, 'credentials'),
    '--topic',
    `join-bench-${process.pid}`,
    '--port',
    String(port),
    '--cluster-size',
    '0',
    '--heartbeat',
    String(opts.heartbeat),
    '--interval',
    '1800',
    '--peer-ttl',
    '3600',
    '--metrics-port',
    '0',
    '--headless',
  ];
  log(`broker on ${brokerPort}; tracker 1 on udp://127.0.0.1:${port}`);
  const master = startTracker(1, common);
  if ((await lineAt(master, /holding the service address/, 30_000)) === null)
    throw new Error(`tracker 1 not Master within 30 s:\n${tail(master)}`);
  const epoch = Number(/role master \(epoch (\d+)/.exec(text(master))?.[1]);
  const masterMetrics = metricsPortIn(text(master));
  if (masterMetrics === null) throw new Error(`tracker 1 logged no metrics port:\n${tail(master)}`);
  const peersOf = async (p: number): Promise<number> => metric(await scrape(p), 'tracker_peers') ?? 0;

  // 2. Fill.
  log(`filling tracker 1 with ${thousands(opts.peers)} peers over ${opts.swarms} swarms (256 in flight)`);
  const fill = await fillTo({
    port,
    target: opts.peers,
    swarms: opts.swarms,
    held: () => peersOf(masterMetrics),
    loadgen: opts.loadgen,
    deadline,
    onRun: (r) => {
      generators.add(r);
      void r.result.then(() => generators.delete(r));
    },
    progress: (held) => log(`  ${thousands(held)} peers held`),
  });
  log(`filled: ${thousands(fill.held)} peers in ${fill.seconds} s: ${thousands(fill.perSecond)} peers/s`);
  const rssMasterBefore = rssOf(master.pid);

  // 3. The recording client and the background load.
  acker = await startAcker('127.0.0.1', port);
  if (opts.loadWindow > 0) {
    const g = loadgen(opts.loadgen, port, opts.loadWindow, opts.timeout, opts.swarms);
    generators.add(g);
  }
  await sleep(2000);

  // 4. Two joiners at once.
  const t0 = Date.now();
  log(`starting trackers 2 and 3 (client: ${acker.acks.length} announces acknowledged so far)`);
  const joiners = [startTracker(2, common), startTracker(3, common)];
  const toSlave = await Promise.all(
    joiners.map(async (j) => {
      const at = await lineAt(j, slaveOf(1, epoch), opts.joinTimeout * 1000).catch((e: Error) => {
        log(e.message);
        return null;
      });
      log(
        at === null
          ? `tracker ${j.id}: not a Slave of tracker 1 within ${opts.joinTimeout} s`
          : `tracker ${j.id}: Slave of tracker 1 after ${secs(at - j.startedAt)}`,
      );
      return at === null ? null : at - j.startedAt;
    }),
  );
  await sleep(opts.settle * 1000);
  const t1 = Date.now();
  await Promise.all([...generators].map((g) => g.stop()));
  await acker.stop();
  const acks = acker.acks;
  const g = gaps(
    acks.map((a) => a.at),
    t0,
    t1,
  );

  // 5. Figures (after the transfer, before the durability check).
  const all = [master, ...joiners];
  const scrapes = await Promise.all(
    all.map(async (t) => {
      const p = metricsPortIn(text(t));
      return p === null || t.exited ? '' : scrape(p).catch(() => '');
    }),
  );
  const rss = all.map((t) => rssOf(t.pid));
  const sentBytes = metric(scrapes[0]!, 'tracker_state_transfer_bytes_total', { direction: 'sent' });
  const sentRecords = metric(scrapes[0]!, 'tracker_state_transfer_records_total', { direction: 'sent' });
  const snapshots = metric(scrapes[0]!, 'tracker_state_transfers_total', { direction: 'sent', kind: 'snapshot' });
  const logTransfers = metric(scrapes[0]!, 'tracker_state_transfers_total', { direction: 'sent', kind: 'log' });
  const failedTransfers = metric(scrapes[0]!, 'tracker_state_transfers_total', { direction: 'sent', outcome: 'failed' });
  // From the joiners' start: the lone Master's own election at its start is not one.
  const joinLogs = all.map((t) => linesSince(text(t), t0));
  const elections = newEpochs(joinLogs, epoch);
  const troubled = all.flatMap((t, i) => electionLines(joinLogs[i]!, epoch).map((l) => `tracker ${t.id}: ${l}`));
  const joined: Joiner[] = joiners.map((j, i) => ({
    id: j.id,
    toSlaveMs: toSlave[i]!,
    rssBytes: rss[i + 1]!,
    peers: metric(scrapes[i + 1]!, 'tracker_peers'),
    recordsReceived: metric(scrapes[i + 1]!, 'tracker_state_transfer_records_total', { direction: 'received' }),
  }));
  const masterPeers = metric(scrapes[0]!, 'tracker_peers');

  // 6. Durability: every acknowledged announce in every SQLite file, before anything stops (shutdown empties them).
  log(`looking up ${thousands(acks.length)} acknowledged announces in the three SQLite files`);
  await sleep(2000);
  const missing = await missingAfterSettling(
    all.map((t) => t.db),
    acks,
    15_000,
  );

  const rows: [string, string][] = [
    ['peers held by tracker 1 after the join', orNa(masterPeers)],
    ['fill', `${thousands(fill.held)} peers in ${fill.seconds} s: ${thousands(fill.perSecond)} peers/s`],
    ['background load during the join', opts.loadWindow > 0 ? `${opts.loadWindow} announces in flight` : 'none'],
    ...joined.map((j): [string, string] => [`tracker ${j.id}: start to Slave of tracker 1`, secs(j.toSlaveMs)]),
    ['elections seen (epochs after the Master’s)', `${elections.length}${elections.length ? ` (epochs ${elections.join(', ')})` : ''}`],
    ['role electing / isolated / other-epoch lines', String(troubled.length)],
    ['resynchronisations asked for (all instances)', String(joinLogs.reduce((n, l) => n + (l.match(/resynchronising/g)?.length ?? 0), 0))],
    ['join window (joiners’ start to client stop)', `${((t1 - t0) / 1000).toFixed(1)} s, ${thousands(g.acks)} announces acknowledged`],
    ['longest gap between acknowledged announces', `${(g.longestGapMs / 1000).toFixed(3)} s`],
    ['1-second windows with no acknowledged announce', `${g.silentSeconds} of ${g.seconds}`],
    ['RSS tracker 1 (Master)', `${mb(rss[0]!)} (${mb(rssMasterBefore)} before the join)`],
    ...joined.map((j): [string, string] => [
      `RSS tracker ${j.id}`,
      `${mb(j.rssBytes)}${j.rssBytes !== null && rss[0] ? ` (${(j.rssBytes / rss[0]).toFixed(2)}× the Master)` : ''}`,
    ]),
    ...joined.map((j): [string, string] => [`peers held by tracker ${j.id}`, orNa(j.peers)]),
    ['state transfer bytes sent by the Master (all transfers)', orNa(sentBytes)],
    ['state transfer records sent by the Master (all transfers)', orNa(sentRecords)],
    ['transfers sent by the Master: snapshot / log (failed)', `${orNa(snapshots)} / ${orNa(logTransfers)} (${orNa(failedTransfers)})`],
    ...all.map((t, i): [string, string] => [
      `tracker ${t.id} SQLite: acknowledged announces found / missing`,
      `${thousands(acks.length - missing[i]!)} / ${thousands(missing[i]!)}`,
    ]),
  ];
  // The issue's bound: both Slaves within 20 s of their start.
  const met =
    toSlave.every((x) => x !== null && x <= SLAVE_WITHIN_MS) && elections.length === 0 && troubled.length === 0 && g.silentSeconds === 0;
  rows.push([
    'targets (both Slaves within 20 s, no election, no silent second, nothing missing)',
    met && missing.every((m) => m === 0) ? 'met' : 'NOT met',
  ]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const out = [
    `Join of two instances to a Master holding ${thousands(fill.held)} peers (heartbeat ${opts.heartbeat} ms, ${os.availableParallelism()} CPUs, Node ${process.version})`,
    '',
    ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`),
    '',
  ];
  for (const t of all) {
    out.push(`tracker ${t.id}: state transfer lines`);
    for (const l of t.lines.filter((x) => /state transfer/.test(x.text))) out.push(`  +${((l.at - t0) / 1000).toFixed(2)} s  ${l.text}`);
  }
  if (troubled.length) {
    out.push('election lines:');
    for (const l of troubled) out.push(`  ${l}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  const json = {
    peers: opts.peers,
    peersHeld: masterPeers,
    fill,
    loadWindow: opts.loadWindow,
    heartbeatMs: opts.heartbeat,
    joiners: joined,
    elections: elections.length,
    electionLines: troubled.length,
    joinWindowSeconds: Math.round((t1 - t0) / 100) / 10,
    acknowledged: acks.length,
    longestGapMs: g.longestGapMs,
    silentSeconds: g.silentSeconds,
    rssMasterBytes: rss[0],
    stateTransferBytesSent: sentBytes,
    stateTransferRecordsSent: sentRecords,
    snapshotTransfers: snapshots,
    logTransfers,
    failedTransfers,
    missing: Object.fromEntries(all.map((t, i) => [`tracker${t.id}`, missing[i]])),
    targetsMet: met && missing.every((m) => m === 0),
    seconds: Math.round((Date.now() - began) / 1000),
  };
  process.stdout.write(`${JSON.stringify(json)}\n`);
}

await runBounded(main, { timeoutS: opts.timeout, cleanup, stopping: () => cleaning !== null, log });
