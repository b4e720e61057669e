/**
 * Benchmark against reference trackers (run through `npm run bench`, which installs the references first).
 *
 * One after another, on loopback only: our single instance, a 3-node cluster of ours (private ActiveMQ),
 * opentracker (Debian, C) and the npm bittorrent-tracker server (JavaScript). Each is driven by the same load
 * generator (scripts/load.ts) with the same request stream:
 *   (a) maximum responses/s: closed loops with each of the `--inflight` levels of requests outstanding, after a
 *       warm-up; the best counts (a tracker with longer round trips, like a cluster that commits every change by
 *       majority, needs more requests in flight to reach its maximum: throughput = in flight / latency);
 *   (b) p50/p99 latency in open loop (Poisson arrivals) at half of that tracker's own maximum;
 *   (c) RSS of the tracker process(es) after (a) and (b), per process and summed (the cluster with its broker);
 *   (d) memory per peer on a fresh process: 1,000,000 distinct peers over 100,000 swarms, each announced once,
 *       (RSS after − RSS before) / peers (not for the cluster).
 * Every tracker is first probed (three announces and a scrape on a fresh swarm must be answered correctly),
 * and every reply of every phase is checked and counted. One table goes to stdout, details as JSON to --out.
 *
 *   node dist/scripts/bench.js [--seconds 10] [--warmup 2] [--peers-million 1] [--memory-swarms 100000]
 *       [--only single,cluster,opentracker,bittorrent-tracker] [--no-memory] [--out bench-results.json]
 *       [--inflight 256,1024] [--sockets 4] [--swarms 5000] [--peers 20000] [--scrape 0.1]
 *       [--cpu-prof FILE.cpuprofile] [--prefix .bench] [--verbose]
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  countPeers,
  infoHashOf,
  probe,
  PROBE_SWARM,
  runFill,
  runLoad,
  type FillResult,
  type LoadOptions,
  type LoadResult,
  type ProbeResult,
} from './load.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NODE = process.execPath;

// ---------------------------------------------------------------- options

const { values: argv } = parseArgs({
  options: {
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    'peers-million': { type: 'string' },
    'memory-swarms': { type: 'string' },
    only: { type: 'string' },
    'no-memory': { type: 'boolean' },
    out: { type: 'string' },
    inflight: { type: 'string' },
    sockets: { type: 'string' },
    swarms: { type: 'string' },
    peers: { type: 'string' },
    scrape: { type: 'string' },
    'cpu-prof': { type: 'string' },
    prefix: { type: 'string' },
    verbose: { type: 'boolean' },
    help: { type: 'boolean' },
  },
});
if (argv.help) {
  process.stdout.write(
    readFileSync(fileURLToPath(import.meta.url), 'utf8')
      .split('*/')[0]!
      .replace(/^\/\*\*\n?/, '')
      .replace(/^ \* ?/gm, ''),
  );
  process.exit(0);
}
const num = (v: string | undefined, d: number, name: string): number => {
  const x = v === undefined ? d : Number(v);
  if (!Number.isFinite(x) || x < 0) {
    process.stderr.write(`bench: bad --${name}: ${v}\n`);
    process.exit(2);
  }
  return x;
};
const ALL = ['single', 'cluster', 'opentracker', 'bittorrent-tracker'] as const;
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
  seconds: num(argv.seconds, 10, 'seconds'),
  warmup: num(argv.warmup, 2, 'warmup'),
  memoryPeers: Math.round(num(argv['peers-million'], 1, 'peers-million') * 1_000_000),
  memorySwarms: Math.round(num(argv['memory-swarms'], 100_000, 'memory-swarms')),
  memory: !argv['no-memory'],
  inflight: (argv.inflight ?? '256,1024').split(',').map((v) => num(v, 256, 'inflight')),
  sockets: num(argv.sockets, 4, 'sockets'),
  swarms: num(argv.swarms, 5000, 'swarms'),
  peers: num(argv.peers, 20000, 'peers'),
  scrape: num(argv.scrape, 0.1, 'scrape'),
  out: resolve(argv.out ?? 'bench-results.json'),
  prefix: resolve(ROOT, argv.prefix ?? '.bench'),
  cpuProf: argv['cpu-prof'] ? resolve(argv['cpu-prof']) : null,
  only: only as TargetId[],
};
if (opts.memorySwarms < 1) opts.memory = false;

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
for (const [sig, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const) {
  process.on(sig, () => {
    log(`${sig}: stopping every process the benchmark started`);
    void cleanup().finally(() => process.exit(code));
  });
}

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

type CpuMark = {
  at: number;
  procs: Map<number, number>;
  self: NodeJS.CpuUsage;
  machine: { busy: number; total: number };
  udp: { rcvbuf: number; sndbuf: number };
};
type CpuUse = {
  /** CPU of the tracker process(es) (the cluster: with its broker) during the phase, % of one core (threads may exceed 100). */
  trackerPct: number;
  /** The same per process (role → % of one core). */
  perProcess: Record<string, number>;
  loadGeneratorPct: number;
  /** Busy share of the whole machine (all cores), %. */
  machinePct: number;
  /** Datagrams the kernel dropped because a receive (or send) buffer was full, on either side. */
  udpRcvbufDrops: number;
  udpSndbufDrops: number;
};
const cpuMark = (members: Member[]): CpuMark => ({
  at: performance.now(),
  procs: new Map(members.map((x) => [x.pid, cpuSeconds(x.pid)])),
  self: process.cpuUsage(),
  machine: machineTicks(),
  udp: udpCounters(),
});
function cpuSince(m: CpuMark, members: Member[]): CpuUse {
  const now = cpuMark(members);
  const wall = (now.at - m.at) / 1000;
  const self = process.cpuUsage(m.self);
  const perProcess: Record<string, number> = {};
  let sum = 0;
  for (const x of members) {
    const used = (now.procs.get(x.pid) ?? NaN) - (m.procs.get(x.pid) ?? NaN);
    perProcess[x.role] = Math.round((used / wall) * 100);
    sum += Number.isFinite(used) ? used : 0;
  }
  return {
    trackerPct: Math.round((sum / wall) * 100),
    perProcess,
    loadGeneratorPct: Math.round(((self.user + self.system) / 1e6 / wall) * 100),
    machinePct: Math.round(((now.machine.busy - m.machine.busy) / Math.max(1, now.machine.total - m.machine.total)) * 100),
    udpRcvbufDrops: now.udp.rcvbuf - m.udp.rcvbuf,
    udpSndbufDrops: now.udp.sndbuf - m.udp.sndbuf,
  };
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
type Target = { id: TargetId; label: string; memory: boolean; start: (phase: string, profileDir?: string) => Promise<Running> };

function tempDir(tag: string): string {
  const dir = mkdtempSync(join(os.tmpdir(), `bench-${tag}-`));
  tempDirs.add(dir);
  return dir;
}

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
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
  memory: true,
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
  memory: false,
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
  memory: true,
  async start(phase) {
    const dir = tempDir(`opentracker-${phase}`);
    // Whitelist-only build: list every hash the load, the fill and the probe use.
    const n = Math.max(opts.swarms, opts.memory ? opts.memorySwarms : 0);
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
  memory: true,
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

const TARGETS: Target[] = [single, cluster, opentracker, bittorrentTracker];

// ---------------------------------------------------------------- measurements

type Rss = { totalBytes: number; trackersBytes: number; processes: { role: string; pid: number; rssBytes: number | null }[] };
function rssNow(r: Running): Rss {
  const processes = r.members().map((m) => ({ ...m, rssBytes: rssOf(m.pid) }));
  const trackerSet = new Set(r.trackerPids());
  return {
    totalBytes: processes.reduce((a, p) => a + (p.rssBytes ?? 0), 0),
    trackersBytes: processes.filter((p) => trackerSet.has(p.pid)).reduce((a, p) => a + (p.rssBytes ?? 0), 0),
    processes,
  };
}

type Memory = {
  peers: number;
  swarms: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  /** From the last sample, 44 s after the fill: what an idle tracker holding the peers keeps. */
  bytesPerPeer: number;
  /** From the first sample, 0.5 s after the fill: includes what the garbage collector has not given back yet. */
  bytesPerPeerAtOnce: number;
  fill: FillResult;
  cpu: CpuUse;
  /** Peers counted back by scrapes of a sample of swarms, against the number expected there. */
  verify: { swarmsSampled: number; expectedPerSwarm: number; mean: number; min: number; max: number };
  /**
   * RSS samples (MB) from 0.5 s to 44 s after the fill. A garbage-collected tracker shrinks only once V8's memory
   * reducer sees it idle (about 30 s here), giving back the young generation it grew while being filled.
   */
  settleMB: number[];
};

type Outcome = {
  id: TargetId;
  label: string;
  commands: string[];
  probe: ProbeResult | null;
  throughput: LoadResult | null;
  throughputCpu: CpuUse | null;
  /** Requests in flight of the best closed loop, and every level's responses/s. */
  throughputInflight: number | null;
  throughputByInflight: Record<string, number>;
  latency: LoadResult | null;
  latencyCpu: CpuUse | null;
  rss: Rss | null;
  memory: Memory | null;
  ratios: Partial<Record<'opentracker' | 'bittorrent-tracker', { responsesPerSecond: number | null; bytesPerPeer: number | null }>>;
  profiled: boolean;
  errors: string[];
};

const loadOptions = (r: Running, seconds: number, rate?: number, inflight = opts.inflight[0]!): LoadOptions => ({
  host: r.host,
  port: r.port,
  seconds,
  inflight,
  sockets: opts.sockets,
  swarms: opts.swarms,
  peers: opts.peers,
  scrape: opts.scrape,
  seed: 42,
  ...(rate ? { rate, arrivals: 'poisson' as const } : {}),
});

const use = (u: CpuUse | null): string =>
  u
    ? `CPU: tracker ${u.trackerPct} %${
        Object.keys(u.perProcess).length > 1
          ? ` (${Object.entries(u.perProcess)
              .map(([k, v]) => `${k} ${v} %`)
              .join(', ')})`
          : ''
      }, load generator ${u.loadGeneratorPct} % (of one core), machine ${u.machinePct} % (all cores); ` +
      `kernel UDP drops: ${u.udpRcvbufDrops} receive-buffer, ${u.udpSndbufDrops} send-buffer`
    : 'CPU: ?';

const summary = (r: LoadResult): string =>
  `${r.perSecond}/s, p50 ${r.p50ms} ms, p99 ${r.p99ms} ms, ${r.errors} errors, ${r.invalid} invalid, ${r.timeouts} timeouts, ` +
  `${r.meanPeers} peers/announce, ${Math.round(r.scrapeNonEmpty * 100)} % of scraped swarms non-empty` +
  `${Object.keys(r.errorSamples).length ? `, ${JSON.stringify(r.errorSamples)}` : ''}`;

async function measureLoad(t: Target, o: Outcome, profileDir?: string): Promise<void> {
  log(`${t.label}: starting`);
  const r = await t.start('load', profileDir);
  o.commands.push(...r.commands);
  try {
    o.probe = await probe(r.host, r.port, 20_000);
    log(`${t.label}: probe ${o.probe.ok ? 'ok' : 'FAILED'}: ${o.probe.detail}`);
    if (!o.probe.ok) o.errors.push(`probe failed: ${o.probe.detail}`);
    if (opts.warmup > 0) {
      const w = await runLoad(loadOptions(r, opts.warmup));
      log(`${t.label}: warm-up ${summary(w)}`);
    }
    for (const inflight of opts.inflight) {
      const mark = cpuMark(r.members());
      const run = await runLoad(loadOptions(r, opts.seconds, undefined, inflight));
      const cpu = cpuSince(mark, r.members());
      log(`${t.label}: closed loop, ${inflight} in flight: ${summary(run)}; ${use(cpu)}`);
      o.throughputByInflight[String(inflight)] = run.perSecond;
      if (!o.throughput || run.perSecond > o.throughput.perSecond) {
        o.throughput = run;
        o.throughputCpu = cpu;
        o.throughputInflight = inflight;
      }
    }
    if (!o.throughput) throw new Error('no closed loop ran');
    const rate = Math.max(100, Math.round(o.throughput.perSecond / 2));
    const mark = cpuMark(r.members());
    o.latency = await runLoad(loadOptions(r, opts.seconds, rate));
    o.latencyCpu = cpuSince(mark, r.members());
    log(`${t.label}: open loop at ${rate}/s: ${summary(o.latency)}; generator lag p99 ${o.latency.lagP99ms} ms; ${use(o.latencyCpu)}`);
    o.rss = rssNow(r);
    log(`${t.label}: RSS ${o.rss.processes.map((p) => `${p.role} ${mb(p.rssBytes)}`).join(', ')}`);
  } finally {
    await r.stop();
  }
}

async function measureMemory(t: Target, o: Outcome): Promise<void> {
  log(`${t.label}: memory, fresh process: ${opts.memoryPeers} peers over ${opts.memorySwarms} swarms`);
  const r = await t.start('memory');
  o.commands.push(...r.commands);
  try {
    const p = await probe(r.host, r.port, 20_000); // also waits until it answers
    if (!p.ok) o.errors.push(`memory phase probe failed: ${p.detail}`);
    await sleep(1000);
    const before = rssNow(r).trackersBytes;
    const mark = cpuMark(r.members());
    const fill = await runFill({
      host: r.host,
      port: r.port,
      peers: opts.memoryPeers,
      swarms: opts.memorySwarms,
      inflight: opts.inflight[0]!,
    });
    const cpu = cpuSince(mark, r.members());
    log(
      `${t.label}: ${fill.acked} peers in ${fill.seconds} s (${fill.perSecond}/s), ${fill.retries} retries, ${fill.failed} failed, ` +
        `${fill.errors} errors, ${fill.invalid} invalid${Object.keys(fill.errorSamples).length ? ` ${JSON.stringify(fill.errorSamples)}` : ''}; ${use(cpu)}`,
    );
    const settle: number[] = [];
    for (const wait of [500, 1500, 2000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000]) {
      await sleep(wait);
      settle.push(rssNow(r).trackersBytes);
    }
    const after = settle.at(-1)!;
    const step = Math.max(1, Math.floor(opts.memorySwarms / 500));
    const sample: number[] = [];
    for (let i = 0; i < opts.memorySwarms; i += step) sample.push(i);
    const counts = await countPeers(r.host, r.port, sample);
    const expected = opts.memoryPeers / opts.memorySwarms;
    const verify = {
      swarmsSampled: sample.length,
      expectedPerSwarm: round2(expected),
      mean: round2(counts.reduce((a, b) => a + b, 0) / counts.length),
      min: Math.min(...counts),
      max: Math.max(...counts),
    };
    if (Math.abs(verify.mean - expected) > 0.05 * expected) {
      o.errors.push(`memory phase: scrapes count ${verify.mean} peers per swarm, expected ${expected}`);
    }
    o.memory = {
      peers: opts.memoryPeers,
      swarms: opts.memorySwarms,
      rssBeforeBytes: before,
      rssAfterBytes: after,
      bytesPerPeer: Math.round((after - before) / Math.max(1, fill.acked)),
      bytesPerPeerAtOnce: Math.round((settle[0]! - before) / Math.max(1, fill.acked)),
      fill,
      cpu,
      verify,
      settleMB: settle.map((b) => round2(b / 2 ** 20)),
    };
    log(
      `${t.label}: RSS ${mb(before)} → ${mb(after)} (samples ${o.memory.settleMB.join(', ')} MB): ` +
        `${o.memory.bytesPerPeer} bytes/peer (${o.memory.bytesPerPeerAtOnce} right after the fill); scrapes count ${verify.mean} peers/swarm (min ${verify.min}, max ${verify.max}; expected ${expected})`,
    );
  } finally {
    await r.stop();
  }
}

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

// ---------------------------------------------------------------- output

const mb = (b: number | null | undefined): string => (b == null ? '?' : `${(b / 2 ** 20).toFixed(1)} MB`);
const round2 = (x: number): number => Math.round(x * 100) / 100;
const thousands = (x: number): string => x.toLocaleString('en-US');
const ms = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ms`);

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

function ratioCell(o: Outcome, ref: 'opentracker' | 'bittorrent-tracker'): string {
  const r = o.ratios[ref];
  if (!r) return '—';
  const parts: string[] = [];
  if (r.responsesPerSecond !== null) parts.push(`${fmtRatio(r.responsesPerSecond)} r/s`);
  if (r.bytesPerPeer !== null) parts.push(`${fmtRatio(r.bytesPerPeer)} B/peer`);
  return parts.join(', ') || '—';
}
const fmtRatio = (x: number): string => `${x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(2)}×`;

function table(outcomes: Outcome[]): string {
  const head = [
    'tracker',
    'responses/s',
    'p50 (half load)',
    'p99 (half load)',
    'RSS',
    'bytes/peer settled (at once)',
    'ratio vs opentracker',
    'ratio vs bittorrent-tracker',
    'CPU at max: tracker / load gen / machine',
  ];
  const rows = outcomes.map((o) => [
    `${o.label}${o.profiled ? ' (profiled)' : ''}`,
    o.throughput ? `${thousands(o.throughput.perSecond)} @${o.throughputInflight}` : 'failed',
    ms(o.latency?.p50ms),
    ms(o.latency?.p99ms),
    o.rss ? (o.rss.processes.length > 1 ? `${mb(o.rss.totalBytes)} (${o.rss.processes.length} processes)` : mb(o.rss.totalBytes)) : '—',
    o.memory ? `${thousands(o.memory.bytesPerPeer)} (${thousands(o.memory.bytesPerPeerAtOnce)})` : '—',
    ratioCell(o, 'opentracker'),
    ratioCell(o, 'bittorrent-tracker'),
    o.throughputCpu ? `${o.throughputCpu.trackerPct} % / ${o.throughputCpu.loadGeneratorPct} % / ${o.throughputCpu.machinePct} %` : '—',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [
    line(head),
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const began = Date.now();
  const date = new Date().toISOString();
  if (!existsSync(join(ROOT, 'dist', 'main.js'))) throw new Error('dist/main.js missing: build first (scripts/bench.sh does)');
  const m = machine();
  log(`${date}: ${m.nproc} CPUs (${m.cpuModel}), Node ${m.node}; trackers: ${opts.only.join(', ')}; ${opts.seconds} s per phase`);
  const outcomes: Outcome[] = [];
  for (const t of TARGETS.filter((x) => opts.only.includes(x.id))) {
    const o: Outcome = {
      id: t.id,
      label: t.label,
      commands: [],
      probe: null,
      throughput: null,
      throughputCpu: null,
      throughputInflight: null,
      throughputByInflight: {},
      latency: null,
      latencyCpu: null,
      rss: null,
      memory: null,
      ratios: {},
      profiled: false,
      errors: [],
    };
    outcomes.push(o);
    let profileDir: string | undefined;
    if (t.id === 'single' && opts.cpuProf) {
      profileDir = tempDir('profile');
      o.profiled = true;
    }
    try {
      await measureLoad(t, o, profileDir);
    } catch (e) {
      o.errors.push(`load phases: ${(e as Error).message}`);
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
    if (opts.memory && t.memory) {
      try {
        await measureMemory(t, o);
      } catch (e) {
        o.errors.push(`memory phase: ${(e as Error).message}`);
        log(`${t.label}: memory phase FAILED: ${(e as Error).message}`);
      }
      await sleep(1000);
    }
  }

  // Ratios, all from this run: this row's responses/s and bytes/peer divided by the reference's.
  for (const refId of ['opentracker', 'bittorrent-tracker'] as const) {
    const ref = outcomes.find((o) => o.id === refId);
    if (!ref) continue;
    for (const o of outcomes) {
      const rps =
        o.throughput && ref.throughput && ref.throughput.perSecond > 0 ? round2(o.throughput.perSecond / ref.throughput.perSecond) : null;
      const bpp = o.memory && ref.memory && ref.memory.bytesPerPeer > 0 ? round2(o.memory.bytesPerPeer / ref.memory.bytesPerPeer) : null;
      if (rps !== null || bpp !== null) o.ratios[refId] = { responsesPerSecond: rps, bytesPerPeer: bpp };
    }
  }

  const seconds = Math.round((Date.now() - began) / 1000);
  const note =
    `${m.nproc} cores shared by the tracker process(es) (and the cluster's broker) and the load generator, which ` +
    'runs in this Node process; every maximum below is that of tracker + load generator on these cores, not the tracker ' +
    'alone (see the CPU column: a load generator near 100 % of a core caps what a fast tracker can show).';
  const out: string[] = [];
  out.push(`UDP tracker benchmark, ${date} (took ${seconds} s)`);
  out.push(
    `machine: nproc ${m.nproc}, ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}; Node ${m.node}; ` +
      `opentracker ${m.opentracker} (Debian); bittorrent-tracker ${m.bittorrentTracker} (npm); ActiveMQ ${m.activemq} (Debian)`,
  );
  out.push(`note: ${note}`);
  out.push(
    `load: same request stream for every tracker: ${opts.sockets} sockets, ${Math.round((1 - opts.scrape) * 100)} % announces / ` +
      `${Math.round(opts.scrape * 100)} % scrapes of 2 hashes, ${opts.swarms} swarms with Zipf popularity, ${opts.peers} peers, packets prebuilt; ` +
      `responses/s: best of closed loops with ${opts.inflight.join(' and ')} requests in flight (@N in the table), ${opts.seconds} s each after a ${opts.warmup} s warm-up; ` +
      `p50/p99: open loop, Poisson arrivals at half of that tracker's own maximum, ${opts.seconds} s; RSS after both; ` +
      (opts.memory
        ? `bytes/peer: fresh process, (RSS after − before) / ${thousands(opts.memoryPeers)} peers announced once over ${thousands(opts.memorySwarms)} swarms.`
        : 'memory per peer not measured (--no-memory).'),
  );
  out.push('');
  out.push(table(outcomes));
  out.push('');
  out.push(
    'ratio = this row ÷ the reference, both from this run: r/s = responses/s (higher is faster), B/peer = bytes per peer (lower is leaner).',
  );
  out.push(
    'CPU at max = during the closed-loop phase: tracker process(es) (the cluster: 3 trackers + broker) and load generator in % of one core; ' +
      'machine = busy share of all cores, including kernel time for loopback UDP that no process is charged for.',
  );
  out.push('');
  for (const o of outcomes) {
    out.push(`${o.label}:`);
    if (o.probe) out.push(`  probe: ${o.probe.ok ? 'ok' : 'FAILED'}: ${o.probe.detail}`);
    if (o.throughput) {
      out.push(
        `  closed loop: ${Object.entries(o.throughputByInflight)
          .map(([n, r]) => `${n} in flight ${r}/s`)
          .join(', ')}; best: ` + `${summary(o.throughput)} (${o.throughput.sent} sent); ${use(o.throughputCpu)}`,
      );
    }
    if (o.latency)
      out.push(
        `  open loop at ${o.latency.rate}/s: ${summary(o.latency)}, generator lag p99 ${o.latency.lagP99ms} ms; ${use(o.latencyCpu)}`,
      );
    if (o.rss) out.push(`  RSS: ${o.rss.processes.map((p) => `${p.role} ${mb(p.rssBytes)}`).join(', ')}`);
    if (o.memory) {
      out.push(
        `  memory: RSS ${mb(o.memory.rssBeforeBytes)} → ${mb(o.memory.rssAfterBytes)} for ${thousands(o.memory.fill.acked)} peers ` +
          `(${o.memory.fill.perSecond}/s, ${o.memory.fill.retries} retries, ${o.memory.fill.failed} failed, ${o.memory.fill.errors} errors); ` +
          `scrapes of ${o.memory.verify.swarmsSampled} swarms count ${o.memory.verify.mean} peers each (expected ${o.memory.verify.expectedPerSwarm}); ` +
          `RSS samples after ${o.memory.settleMB.join(', ')} MB`,
      );
    } else if (o.id === 'cluster') out.push('  memory per peer: not measured for the cluster');
    for (const e of o.errors) out.push(`  PROBLEM: ${e}`);
  }
  if (profile) {
    out.push('');
    out.push(
      `CPU profile of our single instance over its whole run (${profile.file}): ${profile.total_ms} ms sampled, ` +
        `${profile.idlePct} % idle; self time as a share of the busy time:`,
    );
    for (const f of profile.functions.slice(0, 15)) out.push(`  ${String(f.selfPct).padStart(5)} %  ${f.name}  ${f.where}`);
    out.push(`  by file: ${profile.files.map((f) => `${f.file} ${f.selfPct} %`).join(', ')}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);

  const json = { date, durationSeconds: seconds, machine: m, note, options: opts, trackers: outcomes, profile };
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
