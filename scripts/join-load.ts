/**
 * What the join benchmark (scripts/join-bench.ts) and its spec (spec/process/join.spec.ts) share: filling a
 * lone Master with new peers (the C generator scripts/loadgen.c, or scripts/load.ts's fill without gcc), a client
 * that records every acknowledged announce, the gaps between acknowledgements, what the instances' logs say
 * about roles and epochs, Prometheus readings and the check that acknowledged announces are in a SQLite file.
 */
import Database from 'better-sqlite3';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { decodeReply } from '../src/protocol/decode-reply.js';
import { ANNOUNCE_DEFAULTS, encodeAnnounceRequest, encodeConnectRequest } from '../src/protocol/encode.js';
import { runFill } from './load.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- the C generator

/** `gcc -O2 -o out scripts/loadgen.c`; false when gcc is missing or fails. */
export function compileLoadgen(source: string, out: string): boolean {
  try {
    execFileSync('gcc', ['-O2', '-Wall', '-o', out, source], { stdio: ['ignore', 'ignore', 'pipe'] });
    return true;
  } catch {
    return false;
  }
}

/** The JSON line `loadgen load` prints at its end. */
export type LoadgenResult = {
  window: number;
  seconds: number;
  replies: number;
  errors: number;
  resent: number;
  cpuSeconds: number;
  sent: number;
};

export type LoadgenRun = {
  readonly child: ChildProcess;
  /** Its JSON line; null when it was stopped (it prints only when its time is up) or failed. */
  readonly result: Promise<LoadgenResult | null>;
  /** SIGTERM (it has no handler: it ends at once) and wait for the exit. */
  stop(): Promise<void>;
};

let runs = 0;
/** `loadgen load PORT WINDOW SECONDS SWARMS 0 RUN` against 127.0.0.1:PORT, a run number of its own (new peer IDs). */
export function loadgen(bin: string, port: number, window: number, seconds: number, swarms: number): LoadgenRun {
  const run = (process.pid % 10_000) * 1000 + ++runs;
  const child = spawn(bin, ['load', String(port), String(window), String(seconds), String(swarms), '0', String(run)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const exited = new Promise<number | null>((r) => {
    child.once('exit', (code) => r(code));
    child.once('error', () => r(-1));
  });
  const result = exited.then((code) => {
    if (code !== 0) {
      if (code !== null) process.stderr.write(`loadgen exited ${code}: ${err.trim()}\n`);
      return null;
    }
    return JSON.parse(out.trim().split('\n').at(-1)!) as LoadgenResult;
  });
  return {
    child,
    result,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export type Fill = { held: number; seconds: number; perSecond: number; runs: number };

/**
 * Announce new peers over `swarms` swarms (window 256) until `held()` says `target` are held: the C generator
 * runs until the count (read every 100 ms) reaches it and is then stopped; without the binary, a Node fill of
 * the missing peers. The count is read again once it stops growing (announces the generator sent again after
 * 250 ms, each a new peer, may still wait in the Master's queue), and another run tops up if it fell short.
 * `onRun` is handed each generator (to stop it on Ctrl-C); `progress` gets the count about every 2 s.
 */
export async function fillTo(o: {
  port: number;
  target: number;
  swarms: number;
  held: () => Promise<number>;
  loadgen: string | null;
  deadline: number;
  onRun?: (r: LoadgenRun) => void;
  progress?: (held: number) => void;
}): Promise<Fill> {
  const started = Date.now();
  const settledCount = async (): Promise<number> => {
    let last = await o.held();
    let same = 0;
    for (let i = 0; i < 120 && same < 2; i++) {
      await sleep(250);
      const now = await o.held();
      same = now === last ? same + 1 : 0;
      last = now;
    }
    return last;
  };
  let held = await o.held();
  let runs = 0;
  while (held < o.target) {
    const left = o.deadline - Date.now();
    if (left <= 0) throw new Error(`fill: ${held} of ${o.target} peers held at the deadline`);
    const before = held;
    runs++;
    if (o.loadgen) {
      const r = loadgen(o.loadgen, o.port, 256, Math.ceil(left / 1000), o.swarms);
      o.onRun?.(r);
      let running = true;
      void r.result.then(() => {
        running = false;
      });
      let shown = Date.now();
      while (running && held < o.target) {
        await sleep(100);
        held = await o.held();
        if (Date.now() - shown >= 2000) {
          o.progress?.(held);
          shown = Date.now();
        }
      }
      await r.stop();
    } else {
      await runFill({
        host: '127.0.0.1',
        port: o.port,
        peers: o.target - held,
        swarms: o.swarms,
        inflight: 256,
        firstSwarm: (runs - 1) * o.swarms,
      });
    }
    held = await settledCount();
    if (held === before) throw new Error(`fill: a run added no peer (${held} held)`);
  }
  o.progress?.(held);
  const seconds = (Date.now() - started) / 1000;
  return { held, seconds: Math.round(seconds * 10) / 10, perSecond: Math.round(held / seconds), runs };
}

// ---------------------------------------------------------------- the client that records acknowledgements

export type Ack = { readonly at: number; readonly infoHash: Buffer; readonly peerId: Buffer };

export type Acker = {
  /** Every acknowledged announce (an announce reply), in order, with the wall time it came back. */
  readonly acks: readonly Ack[];
  /** Requests sent (connects and announces, retries included). */
  sent(): number;
  /** Error replies received. */
  errors(): number;
  stop(): Promise<void>;
};

/**
 * One announce in flight to host:port, a new peer each (one swarm of its own), a new transaction ID for every
 * attempt, an attempt without a reply sent again after `retryMs`; a reply to any attempt of the current peer,
 * a late one too, acknowledges it. A connection ID is asked for first and again after 60 s or an error reply.
 */
export async function startAcker(host: string, port: number, retryMs = 250): Promise<Acker> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const infoHash = randomBytes(20);
  const acks: Ack[] = [];
  let sent = 0;
  let errors = 0;
  let stopping = false;
  /** Transaction IDs of the attempts for what is asked now, and who takes the reply. */
  const attempts = new Set<number>();
  let take: ((b: Buffer) => void) | null = null;
  s.on('message', (b) => {
    if (b.length >= 8 && attempts.has(b.readUInt32BE(4))) take?.(b);
  });
  const ask = (make: (tid: number) => Buffer): Promise<Buffer | null> =>
    new Promise((resolve) => {
      const tid = randomBytes(4).readUInt32BE(0);
      attempts.add(tid);
      const timer = setTimeout(() => {
        take = null;
        resolve(null);
      }, retryMs);
      take = (b) => {
        clearTimeout(timer);
        take = null;
        resolve(b);
      };
      sent++;
      s.send(make(tid), port, host);
    });
  const loop = (async () => {
    let cid: bigint | null = null;
    let cidAt = 0;
    let peerId = randomBytes(20);
    while (!stopping) {
      if (cid === null || Date.now() - cidAt > 60_000) {
        const b = await ask(encodeConnectRequest);
        attempts.clear();
        const r = b && decodeReply(b);
        if (r?.action === 'connect') {
          cid = r.connectionId;
          cidAt = Date.now();
        } else if (r) await sleep(20);
        continue;
      }
      const connectionId = cid;
      const b = await ask((transactionId) =>
        encodeAnnounceRequest({ ...ANNOUNCE_DEFAULTS, connectionId, transactionId, infoHash, peerId, numWant: 5, port: s.address().port }),
      );
      const r = b && decodeReply(b);
      if (r?.action === 'announce') {
        acks.push({ at: Date.now(), infoHash, peerId });
        attempts.clear();
        peerId = randomBytes(20);
      } else if (r) {
        errors++;
        cid = null; // an expired connection ID, or no majority: connect again after a breath
        await sleep(20);
      }
    }
  })();
  return {
    acks,
    sent: () => sent,
    errors: () => errors,
    async stop() {
      if (stopping) return loop;
      stopping = true;
      await loop;
      await new Promise<void>((r) => s.close(() => r()));
    },
  };
}

export type Gaps = {
  /** Longest time without an acknowledgement within [from, to], the ends counted as acknowledgements. */
  longestGapMs: number;
  /** Whole seconds of [from, to) (counted from `from`) in which nothing was acknowledged. */
  silentSeconds: number;
  seconds: number;
  acks: number;
};

export function gaps(times: readonly number[], from: number, to: number): Gaps {
  const inside = times.filter((t) => t >= from && t <= to);
  let longest = 0;
  let prev = from;
  for (const t of [...inside, to]) {
    longest = Math.max(longest, t - prev);
    prev = t;
  }
  const seconds = Math.floor((to - from) / 1000);
  const busy = new Set(inside.map((t) => Math.floor((t - from) / 1000)));
  let silent = 0;
  for (let i = 0; i < seconds; i++) if (!busy.has(i)) silent++;
  return { longestGapMs: longest, silentSeconds: silent, seconds, acks: inside.length };
}

// ---------------------------------------------------------------- logs, metrics, SQLite

/** The lines of a log stamped (ISO time at the start, as the tracker writes them) at or after `since` (ms). */
export function linesSince(log: string, since: number): string {
  return log
    .split('\n')
    .filter((line) => {
      const at = Date.parse(line.slice(0, 24));
      return Number.isFinite(at) && at >= since;
    })
    .join('\n');
}

/**
 * Lines of an instance's log that show an election: `role electing`, `role isolated`, or a role line of an epoch
 * other than `epoch` (the lone Master's). Role lines of epoch 0 (a newcomer that has heard nobody yet) are not.
 */
export function electionLines(log: string, epoch: number): string[] {
  return log.split('\n').filter((line) => {
    const m = /role (\w+) \(epoch (\d+)/.exec(line);
    if (!m) return false;
    const e = Number(m[2]);
    return m[1] === 'electing' || m[1] === 'isolated' || (e !== 0 && e !== epoch);
  });
}

/** Epochs above `epoch` named by any role line of these logs: elections held (or seen) after the Master's. */
export function newEpochs(logs: readonly string[], epoch: number): number[] {
  const seen = new Set<number>();
  for (const log of logs) for (const m of log.matchAll(/role \w+ \(epoch (\d+)/g)) if (Number(m[1]) > epoch) seen.add(Number(m[1]));
  return [...seen].sort((a, b) => a - b);
}

/** The role line of a Slave of `master` in `epoch` (the loaded Master's: a Slave of anyone else is no join). */
export const slaveOf = (master: number, epoch: number): RegExp => new RegExp(`role slave \\(epoch ${epoch}, master ${master}\\)`);

/** The port an instance's `--metrics-port 0` listener took, from its log. */
export const metricsPortIn = (log: string): number | null => {
  const m = /metrics on http:\/\/[^:]+:(\d+)\/metrics/.exec(log);
  return m ? Number(m[1]) : null;
};

export async function scrape(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
  return r.text();
}

/** The sum of the series `name` whose labels include `labels` (0 when none does yet); null when there is no such metric. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? ([^ ]+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum ?? (text.includes(`# TYPE ${name} `) ? 0 : null);
}

/** Acknowledged announces that are not (yet) rows of this SQLite file (read-only; the tracker may be writing). */
export function missingIn(db: string, acks: readonly Ack[]): number {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    // One pass over the file (the view has no index on info hash and peer ID; a lookup per ack would scan it).
    const rows = new Set(d.prepare('SELECT hex(info_hash) || hex(peer_id) FROM peers').pluck().all() as string[]);
    return acks.filter((a) => !rows.has((a.infoHash.toString('hex') + a.peerId.toString('hex')).toUpperCase())).length;
  } finally {
    d.close();
  }
}

/** Poll (the mirror is written asynchronously) until no file misses an acknowledged announce or `ms` pass. */
export async function missingAfterSettling(dbs: readonly string[], acks: readonly Ack[], ms: number): Promise<number[]> {
  const end = Date.now() + ms;
  const probe = (): number[] =>
    dbs.map((db) => {
      try {
        return missingIn(db, acks);
      } catch {
        return acks.length; // not created yet (an instance that never stored anything)
      }
    });
  let missing = probe();
  while (missing.some((n) => n > 0) && Date.now() < end) {
    await sleep(250);
    missing = probe();
  }
  return missing;
}

/** VmRSS of a process, bytes; null when it is gone. */
export function rssOf(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
