/**
 * Tracker processes as the benchmarks run them (join-bench, stop-slave-bench): started from dist/ with a SQLite
 * file in the run's folder, every log line kept with its arrival time and the tracker's own stamp, stopped with
 * SIGTERM (SIGKILL after 10 s, SIGCONT first when paused); and the small helpers around them.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { join } from 'node:path';
import { metricsPortIn } from './join-load.js';

/** `at`: when the line arrived here; `stamp`: the tracker's own time stamp (its clock when it wrote the line). */
export type TrackerLine = { at: number; stamp: number; text: string };

export type TrackerProc = {
  id: number;
  child: ChildProcess;
  pid: number;
  db: string;
  startedAt: number;
  lines: TrackerLine[];
  exit: Promise<number | string>;
  exited: boolean;
  /** SIGSTOPped by the benchmark (stopping it sends SIGCONT first). */
  paused: boolean;
  /** From its `metrics on http://…:PORT/metrics` line. */
  metricsPort: number | null;
};

/** `node dist/main.js --id ID --db DIR/tracker-ID.sqlite ARGS…` in `root`; `verbose` echoes its lines. */
export function spawnTracker(root: string, dir: string, id: number, args: readonly string[], verbose = false): TrackerProc {
  const db = join(dir, `tracker-${id}.sqlite`);
  const child = spawn(process.execPath, ['dist/main.js', '--id', String(id), '--db', db, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start tracker ${id}`);
  const t: TrackerProc = {
    id,
    child,
    pid: child.pid,
    db,
    startedAt: Date.now(),
    lines: [],
    exited: false,
    paused: false,
    metricsPort: null,
    exit: new Promise((r) =>
      child.once('exit', (code, signal) => {
        t.exited = true;
        r(code ?? signal ?? -1);
      }),
    ),
  };
  let rest = '';
  const onData = (b: Buffer): void => {
    const parts = (rest + b.toString('utf8')).split('\n');
    rest = parts.pop()!;
    const at = Date.now();
    for (const line of parts) {
      const stamp = Date.parse(line.slice(0, 24));
      t.lines.push({ at, stamp: Number.isFinite(stamp) ? stamp : at, text: line });
      if (verbose) process.stderr.write(`  [tracker ${id}] ${line}\n`);
    }
    t.metricsPort ??= metricsPortIn(parts.join('\n'));
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return t;
}

/** SIGTERM (after SIGCONT when paused), SIGKILL if it is still there 10 s later. */
export async function stopTracker(t: TrackerProc, log: (line: string) => void): Promise<void> {
  if (t.exited) return;
  if (t.paused) t.child.kill('SIGCONT');
  t.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (!t.exited) {
      log(`tracker ${t.id} (pid ${t.pid}) ignored SIGTERM for 10 s: SIGKILL`);
      t.child.kill('SIGKILL');
    }
  }, 10_000);
  await t.exit;
  clearTimeout(timer);
}

export const logText = (t: TrackerProc): string => t.lines.map((l) => l.text).join('\n');

/** Its last `n` lines, indented, for error messages. */
export const logTail = (t: TrackerProc, n = 15): string =>
  t.lines
    .slice(-n)
    .map((l) => `    ${l.text}`)
    .join('\n');

/** `scripts/broker.sh ARGS…` run to completion in `root`. */
export const brokerScript = (root: string, args: readonly string[]) =>
  spawnSync('bash', [join(root, 'scripts', 'broker.sh'), ...args], { cwd: root, encoding: 'utf8' });

/** A UDP port free on 127.0.0.1 a moment ago. */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
