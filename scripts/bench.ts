/**
 * Benchmark against reference trackers (run through `npm run bench`, which installs the references and compiles
 * the load generator scripts/loadgen.c first).
 *
 * One after another, on loopback only: our single instance, a 3-node cluster of ours (private ActiveMQ),
 * opentracker (Debian, C), a Node `dgram` server that only answers (the floor: what Node itself costs) and the
 * npm bittorrent-tracker server (JavaScript). Each is driven by the same C load generator (8 sockets, a window
 * of announces in flight, a new peer per announce over `--swarms` swarms), which uses well under a core even
 * against opentracker (its own CPU share is printed: it is not the ceiling). For each tracker:
 *   (a) replies/s with 256 announces in flight (`--window`), `--seconds` after a `--warmup`;
 *   (b) tracker CPU per reply over (a): utime + stime from /proc/PID/stat (every thread), ÷ replies; the cluster
 *       sums its three trackers and shows its broker separately;
 *   (c) replies/s with 1 announce in flight: 1 / round-trip time;
 *   (d) RSS per peer: (RSS − RSS before the load) ÷ peers held (counted by scrape), right after (a) and again
 *       after `--settle` seconds idle (V8 gives its grown young generation back after about 30 s).
 * Every tracker is first probed (three announces and a scrape on a fresh swarm must be answered correctly).
 * One table goes to stdout, details as JSON to --out.
 *
 *   node dist/scripts/bench.js --loadgen .bench/loadgen [--seconds 5] [--warmup 1] [--window 256] [--swarms 1000]
 *       [--settle 35] [--only single,cluster,opentracker,echo,bittorrent-tracker] [--out bench-results.json]
 *       [--cpu-prof FILE.cpuprofile] [--prefix .bench] [--verbose]
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { infoHashOf, probe, PROBE_SWARM, type ProbeResult } from './load.js';
import { numberFlag, printHelp, stopOnSignals } from './cli.js';
import { freeUdpPort } from './tracker-procs.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NODE = process.execPath;

// ---------------------------------------------------------------- options

const { values: argv } = parseArgs({
  options: {
    loadgen: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    window: { type: 'string' },
    swarms: { type: 'string' },
    settle: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string' },
    'cpu-prof': { type: 'string' },
    prefix: { type: 'string' },
    verbose: { type: 'boolean' },
    help: { type: 'boolean' },
  },
});
if (argv.help) printHelp(fileURLToPath(import.meta.url));
const num = numberFlag('bench');
const ALL = ['single', 'cluster', 'opentracker', 'echo', 'bittorrent-tracker'] as const;
type TargetId = (typeof ALL)[number];
const only = (argv.only ?? ALL.join(','))
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const o of only) {
  if (!(ALL as readonly string[]).includes(o)) {
    process.stderr.write(`bench: unknown tracker in --only: ${o} (one of ${ALL.join(', ')})\n`);
    process.exit(2);
  }
}
const opts = {
  loadgen: resolve(argv.loadgen ?? join(ROOT, '.bench', 'loadgen')),
  seconds: num(argv.seconds, 5, 'seconds'),
  warmup: num(argv.warmup, 1, 'warmup'),
  window: num(argv.window, 256, 'window'),
  swarms: num(argv.swarms, 1000, 'swarms'),
  settle: num(argv.settle, 35, 'settle'),
  out: resolve(argv.out ?? 'bench-results.json'),
  prefix: resolve(ROOT, argv.prefix ?? '.bench'),
  cpuProf: argv['cpu-prof'] ? resolve(argv['cpu-prof']) : null,
  only: only as TargetId[],
};

const log = (line: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- processes we start (all stopped at the end)

type Proc = {
  name: string;
  child: ChildProcess;
  pid: number;
  lines: string[];
  listeners: Set<(line: string) => void>;
  exit: Promise<number | null>;
  exited: boolean;
};
const live = new Set<Proc>();
const brokerDirs = new Set<string>();
const tempDirs = new Set<string>();

function startProc(name: string, cmd: string, args: string[]): Proc {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${cmd}`);
  const p: Proc = {
    name,
    child,
    pid: child.pid,
    lines: [],
    listeners: new Set(),
    exited: false,
    exit: new Promise((r) =>
      child.once('exit', (code, signal) => {
        p.exited = true;
        live.delete(p);
        // Ended by the SIGTERM/SIGINT we (or the terminal) sent: a normal stop for a tracker without a handler.
        r(code ?? (signal === 'SIGTERM' || signal === 'SIGINT' ? 0 : 128 + (os.constants.signals[signal!] ?? 0)));
      }),
    ),
  };
  const onData = (buf: Buffer): void => {
    for (const line of buf.toString('utf8').split('\n')) {
      if (!line) continue;
      p.lines.push(line);
      if (p.lines.length > 200) p.lines.shift();
      if (argv.verbose) process.stderr.write(`  [${name}] ${line}\n`);
      for (const l of p.listeners) l(line);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  child.on('error', (e) => p.lines.push(`spawn error: ${e.message}`));
  live.add(p);
  return p;
}

async function stopProc(p: Proc, graceMs = 10_000): Promise<number | null> {
  if (!p.exited) {
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (!p.exited) {
        log(`${p.name} (pid ${p.pid}) ignored SIGTERM for ${graceMs / 1000} s: SIGKILL`);
        p.child.kill('SIGKILL');
      }
    }, graceMs);
    const code = await p.exit;
    clearTimeout(timer);
    return code;
  }
  return p.exit;
}

/** Resolves with the first line matching `re`; rejects when the process exits first or on timeout. */
function waitForLine(p: Proc, re: RegExp, timeoutMs: number): Promise<string> {
  const seen = p.lines.find((l) => re.test(l));
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const done = (): void => {
      p.listeners.delete(onLine);
      clearTimeout(timer);
    };
    const onLine = (line: string): void => {
      if (re.test(line)) {
        done();
        resolve(line);
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${p.name}: no line matching ${re} within ${timeoutMs / 1000} s; last lines:\n${tail(p)}`));
    }, timeoutMs);
    p.listeners.add(onLine);
    void p.exit.then((code) => {
      done();
      reject(new Error(`${p.name} exited (${code}) before ${re}; last lines:\n${tail(p)}`));
    });
  });
}

const tail = (p: Proc, n = 12): string =>
  p.lines
    .slice(-n)
    .map((l) => `    ${l}`)
    .join('\n');

function brokerScript(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'broker.sh'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function stopBroker(dir: string): void {
  if (!brokerDirs.has(dir)) return;
  const r = brokerScript(['stop', '--dir', dir]);
  if (r.status !== 0) log(`broker.sh stop failed: ${r.stderr.trim()}`);
  brokerDirs.delete(dir);
}

let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all([...live].reverse().map((p) => stopProc(p, 8000)));
    for (const dir of [...brokerDirs]) stopBroker(dir);
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    tempDirs.clear();
  })();
  return cleaning;
}
// Last resort if the process exits some other way: nothing may outlive the benchmark.
process.on('exit', () => {
  for (const p of live) p.child.kill('SIGKILL');
  for (const dir of brokerDirs) brokerScript(['stop', '--dir', dir]);
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
stopOnSignals(cleanup, log);

// ---------------------------------------------------------------- /proc readings

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* Linux default */
}

function rssOf(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) used so far by a process, its threads included. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / clkTck;
  } catch {
    return NaN;
  }
}

/** CPU seconds so far of each thread of a process, by thread ID (/proc/PID/task/TID/stat). */
function threadSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.set(Number(tid), (Number(f[11]) + Number(f[12])) / clkTck);
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // the process ended
  }
  return out;
}

/**
 * Where a phase's CPU went, seconds: the main thread (TID = PID), the busiest other thread (every Node thread is
 * named `node`; in our tracker the busiest after the main one is the SQLite worker, as perf.md found), and the
 * rest: V8's platform threads (concurrent GC, compilation) and libuv's.
 */
type Threads = { main: number; worker: number; helpers: number };
function threadSplit(before: ReadonlyMap<number, Map<number, number>>, after: ReadonlyMap<number, Map<number, number>>): Threads {
  const split: Threads = { main: 0, worker: 0, helpers: 0 };
  for (const [pid, now] of after) {
    const then = before.get(pid) ?? new Map<number, number>();
    const others: number[] = [];
    for (const [tid, s] of now) {
      const d = s - (then.get(tid) ?? 0);
      if (tid === pid) split.main += d;
      else others.push(d);
    }
    others.sort((a, b) => b - a);
    split.worker += others[0] ?? 0;
    split.helpers += others.slice(1).reduce((a, b) => a + b, 0);
  }
  return split;
}

/** Busy and total jiffies of the whole machine (every core). */
function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/** Kernel UDP counters (whole machine: only the benchmark's traffic runs meanwhile). */
function udpCounters(): { rcvbuf: number; sndbuf: number } {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const keys = lines[0]!.split(/\s+/);
    const vals = lines[1]!.split(/\s+/).map(Number);
    return { rcvbuf: vals[keys.indexOf('RcvbufErrors')] ?? 0, sndbuf: vals[keys.indexOf('SndbufErrors')] ?? 0 };
  } catch {
    return { rcvbuf: NaN, sndbuf: NaN };
  }
}

// ---------------------------------------------------------------- targets

type Member = { role: string; pid: number };
type Running = {
  host: string;
  port: number;
  /** Processes whose RSS counts, with a role name (tracker 1, broker, …). */
  members: () => Member[];
  /** Tracker processes only (their CPU is the tracker's). */
  trackerPids: () => number[];
  stop: () => Promise<void>;
  commands: string[];
};
type Target = { id: TargetId; label: string; start: (phase: string, profileDir?: string) => Promise<Running> };

function tempDir(tag: string): string {
  const dir = mkdtempSync(join(os.tmpdir(), `bench-${tag}-`));
  tempDirs.add(dir);
  return dir;
}

async function stopAll(procs: Proc[]): Promise<void> {
  const codes = await Promise.all(procs.map((p) => stopProc(p)));
  codes.forEach((c, i) => {
    if (c !== 0) log(`${procs[i]!.name} exited with ${c}; last lines:\n${tail(procs[i]!)}`);
  });
}

const single: Target = {
  id: 'single',
  label: 'ours, single instance',
  async start(phase, profileDir) {
    const dir = tempDir(`single-${phase}`);
    const port = await freeUdpPort();
    const args = [
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      'dist/main.js',
      '--id',
      '1',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--headless',
      '--db',
      join(dir, 'tracker-1.sqlite'),
      '--interval',
      '1800',
    ];
    const p = startProc('tracker 1', NODE, args);
    await waitForLine(p, /listening on udp:/, 20_000);
    return {
      host: '127.0.0.1',
      port,
      commands: [`node ${args.join(' ')}`],
      members: () => [{ role: 'tracker 1', pid: p.pid }],
      trackerPids: () => [p.pid],
      stop: async () => {
        await stopAll([p]);
        rmSync(dir, { recursive: true, force: true });
        tempDirs.delete(dir);
      },
    };
  },
};

const cluster: Target = {
  id: 'cluster',
  label: 'ours, 3-node cluster',
  async start(phase) {
    const dir = tempDir(`cluster-${phase}`);
    const brokerDir = join(dir, 'broker');
    brokerDirs.add(brokerDir);
    const b = brokerScript(['start', '--port', '0', '--dir', brokerDir]);
    const brokerPort = Number(b.stdout.trim().split('\n').at(-1));
    if (b.status !== 0 || !Number.isInteger(brokerPort) || brokerPort <= 0) {
      brokerDirs.delete(brokerDir);
      throw new Error(`broker did not start: ${b.stderr.trim()}`);
    }
    const brokerPid = Number(readFileSync(join(brokerDir, 'broker.pid'), 'utf8').trim());
    const port = await freeUdpPort();
    const topic = `bench-${process.pid}-${Date.now()}`;
    const roles = new Map<number, string>();
    const procs: Proc[] = [];
    const commands = [`bash scripts/broker.sh start --port 0 --dir ${brokerDir}`];
    const ready = new Promise<void>((resolve) => {
      const check = (): void => {
        const r = [...roles.values()];
        if (r.filter((x) => x === 'master').length === 1 && r.filter((x) => x === 'slave').length === 2) resolve();
      };
      for (const id of [1, 2, 3]) {
        const args = [
          'dist/main.js',
          '--id',
          String(id),
          '--broker',
          `stomp://127.0.0.1:${brokerPort}`,
          '--broker-credentials',
          join(brokerDir, 'credentials'),
          '--port',
          String(port),
          '--topic',
          topic,
          '--headless',
          '--db',
          join(dir, `tracker-${id}.sqlite`),
        ];
        commands.push(`node ${args.join(' ')}`);
        const p = startProc(`tracker ${id}`, NODE, args);
        p.listeners.add((line) => {
          const m = /\[tracker (\d+)\] role (\w+)/.exec(line);
          if (m) {
            roles.set(Number(m[1]), m[2]!);
            check();
          }
        });
        procs.push(p);
      }
    });
    const stop = async (): Promise<void> => {
      await stopAll(procs);
      stopBroker(brokerDir);
      rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`cluster not formed within 60 s: roles ${JSON.stringify([...roles])}`)), 60_000);
    });
    const died = Promise.race(
      procs.map((p) =>
        p.exit.then((c) => {
          throw new Error(`${p.name} exited (${c}):\n${tail(p)}`);
        }),
      ),
    );
    try {
      await Promise.race([ready, timeout, died]);
    } catch (e) {
      clearTimeout(timer);
      await stop();
      throw e;
    }
    clearTimeout(timer);
    died.catch(() => {}); // later exits are reported by stop()
    timeout.catch(() => {});
    log(`cluster formed: ${[...roles].map(([id, r]) => `${id} ${r}`).join(', ')}; broker pid ${brokerPid} on ${brokerPort}`);
    return {
      host: '127.0.0.1',
      port,
      commands,
      members: () => [
        ...procs.map((p, i) => ({ role: `tracker ${i + 1} (${roles.get(i + 1) ?? '?'})`, pid: p.pid })),
        { role: 'broker (java)', pid: brokerPid },
      ],
      trackerPids: () => procs.map((p) => p.pid),
      stop,
    };
  },
};

const opentracker: Target = {
  id: 'opentracker',
  label: 'opentracker',
  async start(phase) {
    const dir = tempDir(`opentracker-${phase}`);
    // Whitelist-only build: list every hash the load, the fill and the probe use.
    const n = opts.swarms;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(infoHashOf(i).toString('hex'));
    lines.push(infoHashOf(PROBE_SWARM).toString('hex'));
    writeFileSync(join(dir, 'whitelist.txt'), `${lines.join('\n')}\n`);
    const port = await freeUdpPort();
    const p = startProc('opentracker', 'bash', [join(ROOT, 'scripts', 'reference', 'opentracker.sh'), String(port), dir]);
    await sleep(300); // it prints nothing when ready: the probe's connect retries until it answers
    if (p.exited) throw new Error(`opentracker exited at start:\n${tail(p)}`);
    return {
      host: '127.0.0.1',
      port,
      commands: [
        `bash scripts/reference/opentracker.sh ${port} ${dir}  # opentracker -i 127.0.0.1 -P ${port} -d ${dir} -w whitelist.txt -u nobody`,
      ],
      members: () => [{ role: 'opentracker', pid: p.pid }],
      trackerPids: () => [p.pid],
      stop: async () => {
        await stopAll([p]);
        rmSync(dir, { recursive: true, force: true });
        tempDirs.delete(dir);
      },
    };
  },
};

const bittorrentTracker: Target = {
  id: 'bittorrent-tracker',
  label: 'bittorrent-tracker',
  async start() {
    const port = await freeUdpPort();
    const args = [join('scripts', 'reference', 'bittorrent-tracker.mjs'), '--port', String(port), '--prefix', opts.prefix];
    const p = startProc('bittorrent-tracker', NODE, args);
    await waitForLine(p, /^listening udp:/, 20_000);
    return {
      host: '127.0.0.1',
      port,
      commands: [`node ${args.join(' ')}`],
      members: () => [{ role: 'bittorrent-tracker', pid: p.pid }],
      trackerPids: () => [p.pid],
      stop: () => stopAll([p]),
    };
  },
};

const echo: Target = {
  id: 'echo',
  label: 'Node dgram server (floor)',
  async start() {
    const port = await freeUdpPort();
    const args = [join('scripts', 'reference', 'echo.mjs'), String(port)];
    const p = startProc('echo', NODE, args);
    await waitForLine(p, /^listening udp:/, 20_000);
    return {
      host: '127.0.0.1',
      port,
      commands: [`node ${args.join(' ')}`],
      members: () => [{ role: 'echo', pid: p.pid }],
      trackerPids: () => [p.pid],
      stop: () => stopAll([p]),
    };
  },
};

const TARGETS: Target[] = [single, cluster, opentracker, echo, bittorrentTracker];
// ---------------------------------------------------------------- measurements

type Gen = { window: number; seconds: number; replies: number; errors: number; resent: number; cpuSeconds: number; sent: number };
let runId = 0;

/** One run of the C generator; resolves with its JSON line. */
function loadgen(args: string[]): Promise<Record<string, number>> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(opts.loadgen, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`loadgen ${args.join(' ')} exited ${code}: ${err.trim()}`));
      else resolveRun(JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>);
    });
  });
}
const runLoad = async (r: Running, window: number, seconds: number, warmup = 0): Promise<Gen> =>
  (await loadgen(['load', String(r.port), String(window), String(seconds), String(opts.swarms), String(warmup), String(++runId)])) as Gen;
const peersHeld = async (r: Running): Promise<number> => (await loadgen(['count', String(r.port), String(opts.swarms)])).peers ?? NaN;

type Cpu = { trackers: number; others: Record<string, number>; threads: Map<number, Map<number, number>> };
/** CPU seconds so far: the tracker processes summed (and per thread), every other member (the broker) by role. */
function cpuNow(r: Running): Cpu {
  const pids = new Set(r.trackerPids());
  const others: Record<string, number> = {};
  const threads = new Map<number, Map<number, number>>();
  let trackers = 0;
  for (const m of r.members()) {
    if (pids.has(m.pid)) {
      trackers += cpuSeconds(m.pid);
      threads.set(m.pid, threadSeconds(m.pid));
    } else others[m.role] = cpuSeconds(m.pid);
  }
  return { trackers, others, threads };
}
const rssSum = (r: Running): number => r.trackerPids().reduce((a, pid) => a + (rssOf(pid) ?? NaN), 0);

type Phase = {
  window: number;
  perSecond: number;
  replies: number;
  errors: number;
  resent: number;
  /** The generator's own CPU, % of one core. */
  generatorPct: number;
  /** Tracker process(es), % of one core (threads may exceed 100). */
  trackerPct: number;
  /** Tracker CPU per reply, µs (the cluster: its three trackers summed). */
  cpuPerReplyUs: number;
  /** Other members (the broker) per reply, µs. */
  othersPerReplyUs: Record<string, number>;
  /** Tracker CPU per reply by thread, µs (threadSplit; the cluster: summed over its trackers). */
  threadsPerReplyUs: Threads;
  /** Busy share of the whole machine (all cores), %. */
  machinePct: number;
  /** Datagrams the kernel dropped for a full receive buffer (either side; they are sent again after 250 ms). */
  udpRcvbufDrops: number;
};

async function phase(r: Running, window: number): Promise<Phase> {
  const c0 = cpuNow(r);
  const m0 = machineTicks();
  const u0 = udpCounters();
  const g = await runLoad(r, window, opts.seconds);
  const c1 = cpuNow(r);
  const m1 = machineTicks();
  const u1 = udpCounters();
  const answered = g.replies + g.errors;
  const per = (s: number): number => round2((s / Math.max(1, answered)) * 1e6);
  const othersPerReplyUs: Record<string, number> = {};
  for (const [role, s] of Object.entries(c1.others)) othersPerReplyUs[role] = per(s - (c0.others[role] ?? NaN));
  return {
    window,
    perSecond: Math.round(g.replies / g.seconds),
    replies: g.replies,
    errors: g.errors,
    resent: g.resent,
    generatorPct: Math.round((g.cpuSeconds / g.seconds) * 100),
    trackerPct: Math.round(((c1.trackers - c0.trackers) / g.seconds) * 100),
    cpuPerReplyUs: per(c1.trackers - c0.trackers),
    othersPerReplyUs,
    threadsPerReplyUs: (() => {
      const t = threadSplit(c0.threads, c1.threads);
      return { main: per(t.main), worker: per(t.worker), helpers: per(t.helpers) };
    })(),
    machinePct: Math.round(((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * 100),
    udpRcvbufDrops: u1.rcvbuf - u0.rcvbuf,
  };
}

type Outcome = {
  id: TargetId;
  label: string;
  commands: string[];
  probe: ProbeResult | null;
  busy: Phase | null;
  latency: Phase | null;
  rssBeforeBytes: number | null;
  /** Right after the busy phase, and after the 1-in-flight phase and `--settle` s idle. */
  afterLoad: { rssBytes: number; peers: number; bytesPerPeer: number } | null;
  /** A second busy phase (its figures), then a third of new peers: its RSS added ÷ peers added (the process warm). */
  warm: { phase: Phase; rssBytes: number; peers: number; bytesPerPeer: number } | null;
  settled: { rssBytes: number; peers: number; bytesPerPeer: number } | null;
  loadAverage: number[];
  errors: string[];
};

async function measure(t: Target, o: Outcome, profileDir?: string): Promise<void> {
  log(`${t.label}: starting`);
  const r = await t.start('load', profileDir);
  o.commands.push(...r.commands);
  try {
    if (t.id !== 'echo') {
      o.probe = await probe(r.host, r.port, 20_000);
      log(`${t.label}: probe ${o.probe.ok ? 'ok' : 'FAILED'}: ${o.probe.detail}`);
      if (!o.probe.ok) o.errors.push(`probe failed: ${o.probe.detail}`);
    }
    await sleep(500);
    o.rssBeforeBytes = rssSum(r);
    o.loadAverage = os.loadavg().map(round2);
    if (opts.warmup > 0) await runLoad(r, opts.window, opts.warmup);
    o.busy = await phase(r, opts.window);
    log(`${t.label}: ${describe(o.busy)}`);
    const counted = t.id !== 'echo';
    const perPeer = async (): Promise<{ rssBytes: number; peers: number; bytesPerPeer: number }> => {
      const rssBytes = rssSum(r);
      const peers = await peersHeld(r);
      return { rssBytes, peers, bytesPerPeer: Math.round((rssBytes - o.rssBeforeBytes!) / peers) };
    };
    if (counted) {
      o.afterLoad = await perPeer();
      log(
        `${t.label}: right after: ${thousands(o.afterLoad.peers)} peers, ${mb(o.afterLoad.rssBytes)}, ${o.afterLoad.bytesPerPeer} B/peer`,
      );
      // Two more loads of new peers: the first grows what a load grows once (V8's young generation, allocator
      // arenas, the mirror's caches); the second's RSS ÷ peers is what holding a peer costs.
      const again = await phase(r, opts.window);
      const before = await perPeer();
      const third = await phase(r, opts.window);
      const now = await perPeer();
      const added = now.peers - before.peers;
      const bytesPerPeer = Math.round((now.rssBytes - before.rssBytes) / added);
      o.warm = { phase: again, rssBytes: now.rssBytes, peers: now.peers, bytesPerPeer };
      log(
        `${t.label}: again: ${describe(again)}; a third time: ${describe(third)}; ${thousands(added)} peers added, ${bytesPerPeer} B/peer`,
      );
    }
    o.latency = await phase(r, 1);
    log(`${t.label}: ${describe(o.latency)}`);
    if (counted && opts.settle > 0) {
      await sleep(opts.settle * 1000);
      o.settled = await perPeer();
      log(`${t.label}: settled: ${thousands(o.settled.peers)} peers, ${mb(o.settled.rssBytes)}, ${o.settled.bytesPerPeer} B/peer`);
    }
  } finally {
    await r.stop();
  }
}

const describe = (p: Phase): string =>
  `${p.window} in flight: ${thousands(p.perSecond)}/s (${p.errors} errors, ${p.resent} resent, ${p.udpRcvbufDrops} dropped by the kernel), tracker ${p.trackerPct} % of a core, ` +
  `${p.cpuPerReplyUs} µs CPU/reply${Object.entries(p.othersPerReplyUs)
    .map(([k, v]) => ` (${k} ${v} µs)`)
    .join('')}, generator ${p.generatorPct} %, machine ${p.machinePct} % busy`;

// ---------------------------------------------------------------- profile summary

type ProfileTop = {
  file: string;
  total_ms: number;
  idlePct: number;
  functions: { name: string; where: string; selfPct: number }[];
  files: { file: string; selfPct: number }[];
};
function summariseProfile(path: string): ProfileTop {
  type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number } };
  const prof = JSON.parse(readFileSync(path, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (const [i, id] of prof.samples.entries()) self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  // Shares are of the busy time: the idle node (the event loop waiting) is reported apart.
  const idleIds = new Set(prof.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const all = [...self.values()].reduce((a, b) => a + b, 0) || 1;
  const idle = [...self].filter(([id]) => idleIds.has(id)).reduce((a, [, us]) => a + us, 0);
  for (const id of idleIds) self.delete(id);
  const total = all - idle || 1;
  const fns = new Map<string, { name: string; where: string; us: number }>();
  const files = new Map<string, number>();
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame;
    const url = cf.url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '');
    const where = url ? `${url}:${cf.lineNumber + 1}` : '(native)';
    const name = cf.functionName || '(anonymous)';
    const key = `${name} ${where}`;
    const f = fns.get(key) ?? { name, where, us: 0 };
    f.us += us;
    fns.set(key, f);
    const file = url
      ? url.replace(/^(.*\/)?node_modules\/((@[^/]+\/)?[^/]+)\/.*$/, 'node_modules/$2')
      : name.startsWith('(')
        ? name
        : '(native)';
    files.set(file, (files.get(file) ?? 0) + us);
  }
  const pct = (us: number): number => Math.round((us / total) * 1000) / 10;
  return {
    file: path,
    total_ms: Math.round(all / 1000),
    idlePct: Math.round((idle / all) * 1000) / 10,
    functions: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, 20)
      .map((f) => ({ name: f.name, where: f.where, selfPct: pct(f.us) })),
    files: [...files]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([file, us]) => ({ file, selfPct: pct(us) })),
  };
}
function versionOf(pkg: string): string {
  try {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own field syntax, not a template.
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' }).trim();
  } catch {
    return 'not installed';
  }
}

function machine(): Record<string, string | number> {
  const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? os.cpus()[0]?.model ?? '?';
  let nproc = os.availableParallelism();
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    /* os count */
  }
  let btVersion = 'not installed';
  try {
    btVersion = (
      JSON.parse(readFileSync(join(opts.prefix, 'node_modules', 'bittorrent-tracker', 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    /* missing */
  }
  return {
    nproc,
    cpuModel,
    memoryGiB: round2(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    opentracker: versionOf('opentracker'),
    activemq: versionOf('activemq'),
    bittorrentTracker: btVersion,
  };
}
// ---------------------------------------------------------------- output

const mb = (b: number | null | undefined): string => (b == null ? '?' : `${(b / 2 ** 20).toFixed(1)} MB`);
const round2 = (x: number): number => Math.round(x * 100) / 100;
const thousands = (x: number): string => x.toLocaleString('en-US');
const fmtRatio = (x: number): string => `${x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(2)}×`;

function table(outcomes: Outcome[]): string {
  const ot = outcomes.find((o) => o.id === 'opentracker');
  const ratio = (x: number | undefined, ref: number | undefined): string =>
    x !== undefined && ref !== undefined && ref > 0 ? ` (${fmtRatio(x / ref)})` : '';
  const head = [
    'tracker',
    `${opts.window} in flight, replies/s (vs opentracker)`,
    '1 in flight, replies/s (round trip)',
    `tracker CPU per reply at ${opts.window} (vs opentracker)`,
    `per thread at ${opts.window}: main / SQLite worker / V8 helpers, µs per reply`,
    'tracker / generator CPU at 256, % of a core',
    'RSS per peer right after / added once warm / settled',
  ];
  const rows = outcomes.map((o) => {
    const b = o.busy;
    const l = o.latency;
    const others = b
      ? Object.entries(b.othersPerReplyUs)
          .map(([k, v]) => `; ${k.replace(/ \(java\)/, '')} +${v} µs`)
          .join('')
      : '';
    return [
      o.label,
      b ? `${thousands(b.perSecond)}${o.id === 'opentracker' ? '' : ratio(b.perSecond, ot?.busy?.perSecond)}` : 'failed',
      l ? `${thousands(l.perSecond)} (${l.perSecond > 0 ? Math.round(1e6 / l.perSecond) : '—'} µs)` : '—',
      b ? `${b.cpuPerReplyUs} µs${o.id === 'opentracker' ? '' : ratio(b.cpuPerReplyUs, ot?.busy?.cpuPerReplyUs)}${others}` : '—',
      b ? `${b.threadsPerReplyUs.main} / ${b.threadsPerReplyUs.worker} / ${b.threadsPerReplyUs.helpers}` : '—',
      b ? `${b.trackerPct} / ${b.generatorPct}` : '—',
      o.afterLoad
        ? `${o.afterLoad.bytesPerPeer} / ${o.warm?.bytesPerPeer ?? '—'} / ${o.settled?.bytesPerPeer ?? '—'} B (${thousands(o.warm?.peers ?? o.afterLoad.peers)} peers)`
        : '—',
    ];
  });
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const began = Date.now();
  const date = new Date().toISOString();
  if (!existsSync(join(ROOT, 'dist', 'main.js'))) throw new Error('dist/main.js missing: build first (scripts/bench.sh does)');
  if (!existsSync(opts.loadgen)) throw new Error(`${opts.loadgen} missing: compile scripts/loadgen.c (scripts/bench.sh does)`);
  const m = machine();
  const load0 = os.loadavg().map(round2);
  log(`${date}: ${m.nproc} CPUs (${m.cpuModel}), Node ${m.node}, load ${load0.join(' ')}; trackers: ${opts.only.join(', ')}`);
  const outcomes: Outcome[] = [];
  for (const t of TARGETS.filter((x) => opts.only.includes(x.id))) {
    const o: Outcome = {
      id: t.id,
      label: t.label,
      commands: [],
      probe: null,
      busy: null,
      latency: null,
      rssBeforeBytes: null,
      afterLoad: null,
      settled: null,
      warm: null,
      loadAverage: [],
      errors: [],
    };
    outcomes.push(o);
    let profileDir: string | undefined;
    if (t.id === 'single' && opts.cpuProf) profileDir = tempDir('profile');
    try {
      await measure(t, o, profileDir);
    } catch (e) {
      o.errors.push(`${(e as Error).message}`);
      log(`${t.label}: FAILED: ${(e as Error).message}`);
    }
    if (profileDir) {
      const f = readdirSync(profileDir).find((x) => x.endsWith('.cpuprofile'));
      if (f) {
        copyFileSync(join(profileDir, f), opts.cpuProf!);
        profile = summariseProfile(opts.cpuProf!);
        profile.file = opts.cpuProf!;
      } else o.errors.push('no .cpuprofile written');
    }
    await sleep(1000);
  }

  const seconds = Math.round((Date.now() - began) / 1000);
  const out: string[] = [];
  out.push(`UDP tracker benchmark, ${date} (took ${seconds} s; load average before: ${load0.join(', ')})`);
  out.push(
    `machine: nproc ${m.nproc}, ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}; Node ${m.node}; ` +
      `opentracker ${m.opentracker} (Debian); bittorrent-tracker ${m.bittorrentTracker} (npm); ActiveMQ ${m.activemq} (Debian)`,
  );
  out.push(
    `load: C generator (scripts/loadgen.c), 8 sockets, announces only, a new peer per announce over ${opts.swarms} swarms; ` +
      `${opts.seconds} s per figure after a ${opts.warmup} s warm-up; CPU from /proc/PID/stat (every thread).`,
  );
  out.push('');
  out.push(table(outcomes));
  out.push('');
  out.push(
    "vs opentracker: this row ÷ opentracker's, both from this run. The generator's CPU share shows it is not the ceiling " +
      '(well under a core). Per thread: the main thread, the busiest other one (the SQLite worker in ours), the rest ' +
      "(V8's GC and compiler threads). RSS per peer: (RSS − RSS before the load) ÷ peers held (scraped), right after the " +
      `${opts.window}-in-flight phase; added once warm: the RSS a third such phase of new peers added ÷ the peers it added; ` +
      `settled: after the 1-in-flight phase and ${opts.settle} s idle. The cluster: CPU of its three trackers ` +
      'summed, its broker after "+"; RSS summed over the three trackers.',
  );
  out.push('');
  for (const o of outcomes) {
    out.push(`${o.label} (load average at start ${o.loadAverage.join(' ')}):`);
    if (o.probe) out.push(`  probe: ${o.probe.ok ? 'ok' : 'FAILED'}: ${o.probe.detail}`);
    if (o.busy) out.push(`  ${describe(o.busy)}`);
    if (o.warm) out.push(`  again (warm): ${describe(o.warm.phase)}`);
    if (o.latency) out.push(`  ${describe(o.latency)}`);
    if (o.afterLoad)
      out.push(
        `  RSS ${mb(o.rssBeforeBytes)} before, ${mb(o.afterLoad.rssBytes)} right after (${thousands(o.afterLoad.peers)} peers)` +
          (o.settled ? `, ${mb(o.settled.rssBytes)} settled (${thousands(o.settled.peers)} peers)` : ''),
      );
    for (const e of o.errors) out.push(`  PROBLEM: ${e}`);
  }
  if (profile) {
    out.push('');
    out.push(
      `CPU profile of our single instance over its whole run (${profile.file}): ${profile.total_ms} ms sampled, ` +
        `${profile.idlePct} % idle; self time as a share of the busy time:`,
    );
    for (const f of profile.functions.slice(0, 20)) out.push(`  ${String(f.selfPct).padStart(5)} %  ${f.name}  ${f.where}`);
    out.push(`  by file: ${profile.files.map((f) => `${f.file} ${f.selfPct} %`).join(', ')}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);

  const json = { date, durationSeconds: seconds, loadAverage: load0, machine: m, options: opts, trackers: outcomes, profile };
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(`results: ${opts.out}\n`);
  if (outcomes.some((o) => o.errors.length)) process.exitCode = 1;
}

let profile: ProfileTop | null = null;

try {
  await main();
} catch (e) {
  log(`error: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
