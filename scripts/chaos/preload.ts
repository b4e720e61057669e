/**
 * The chaos run's preload (`--preload P`): before the faults, the cluster is filled with P new peers over
 * `PRELOAD_SWARMS` swarms through the service address by the C load generator (scripts/loadgen.c, compiled into
 * the run's work folder; its HOST argument reaches the floating address of the netns topology). It runs until a
 * scrape of those swarms counts P peers, is stopped, and the count is read again once it stops growing (announces
 * it sent again after 250 ms, each a new peer, may still be in the Master's queue); a short fill is topped up. The
 * count it ends on is what every repository must hold in those swarms at rest.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/** Swarm i has the info hash 7a11ce00 00..00 <i as 4 bytes> (loadgen.c, scripts/load.ts's infoHashOf). */
export const PRELOAD_SWARMS = 1000;

/**
 * Announces the generator keeps in flight. Measured on the project's machine (2 cores, netns topology, 3
 * trackers and the broker pair on them): 256 gave 8,500 peers/s, 1024 12,200/s, 2048 as many with 2 % sent again
 * after 250 ms, 4096 collapsed into retries. Every announce sent again is a new peer: the fill overshoots a little.
 */
const WINDOW = 1024;

export type PreloadResult = { readonly peers: number; readonly seconds: number; readonly perSecond: number; readonly runs: number };

export type PreloadOpts = {
  readonly host: string;
  readonly port: number;
  readonly peers: number;
  /** Work folder: the generator is compiled there. */
  readonly dir: string;
  /** Give up after this long (ms); 60 s + 1 ms per peer when left out. */
  readonly deadlineMs?: number;
  readonly progress?: (line: string) => void;
  /** Each generator started (to stop it on Ctrl-C). */
  readonly started?: (child: ChildProcess) => void;
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `gcc -O2 -o DIR/loadgen scripts/loadgen.c` (run from the project's root). */
export function compileLoadgen(dir: string): string {
  const out = join(dir, 'loadgen');
  try {
    execFileSync('gcc', ['-O2', '-Wall', '-o', out, 'scripts/loadgen.c'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new Error(`--preload needs gcc to compile scripts/loadgen.c: ${e instanceof Error ? e.message : String(e)}`);
  }
  return out;
}

/** Run the generator to its end; its stdout's last line, parsed. */
function runOnce(
  bin: string,
  args: string[],
  started?: (c: ChildProcess) => void,
): { child: ChildProcess; done: Promise<Record<string, number> | null> } {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  started?.(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const done = new Promise<Record<string, number> | null>((resolve, reject) => {
    child.once('error', reject);
    // 'close', not 'exit': the output is read to its end only then.
    child.once('close', (code, sig) => {
      if (sig) return resolve(null);
      try {
        if (code !== 0) throw new Error(`exited ${code}`);
        resolve(JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>);
      } catch (e) {
        reject(new Error(`loadgen ${args.join(' ')}: ${e instanceof Error ? e.message : String(e)}: ${err.trim()} ${out.trim()}`));
      }
    });
  });
  return { child, done };
}

export async function preload(o: PreloadOpts): Promise<PreloadResult> {
  const bin = compileLoadgen(o.dir);
  const port = String(o.port);
  const swarms = String(PRELOAD_SWARMS);
  const held = async (): Promise<number> => {
    const peers = (await runOnce(bin, ['count', port, swarms, o.host], o.started).done)?.peers;
    if (typeof peers !== 'number') throw new Error('preload: the peer count was stopped');
    return peers;
  };
  const settledCount = async (): Promise<number> => {
    let last = await held();
    for (let same = 0, i = 0; same < 2 && i < 120; i++) {
      await sleep(250);
      const now = await held();
      same = now === last ? same + 1 : 0;
      last = now;
    }
    return last;
  };
  const started = Date.now();
  // At least 1,000 peers/s, whatever else runs on the machine.
  const deadline = started + (o.deadlineMs ?? 60_000 + o.peers);
  let count = await held();
  let runs = 0;
  while (count < o.peers) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`preload: ${count} of ${o.peers} peers held at the deadline`);
    const before = count;
    runs++;
    // A run number of its own: new peer IDs (-LG0001- RUN n), never one of an earlier run's.
    const run = String(randomBytes(4).readUInt32BE(0) >>> 1);
    const g = runOnce(bin, ['load', port, String(WINDOW), String(Math.ceil(left / 1000)), swarms, '0', run, o.host], o.started);
    let running = true;
    const ended = g.done.finally(() => {
      running = false;
    });
    let shown = Date.now();
    while (running && count < o.peers) {
      await sleep(100);
      count = await held();
      if (Date.now() - shown >= 5000) {
        o.progress?.(`preload: ${count} of ${o.peers} peers held`);
        shown = Date.now();
      }
    }
    if (running) g.child.kill('SIGTERM');
    await ended;
    count = await settledCount();
    if (count === before) throw new Error(`preload: a run added no peer (${count} held)`);
  }
  const seconds = (Date.now() - started) / 1000;
  return { peers: count, seconds: Math.round(seconds * 10) / 10, perSecond: Math.round(count / seconds), runs };
}
