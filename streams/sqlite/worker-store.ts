/**
 * The SQLite mirror written by a worker thread (sqlite-worker.ts). `writeBatch` copies the batch's packed effects
 * into a shared byte ring and returns at once; the worker stores them within `lagMs`, in commit order. A failure
 * comes back later through `onError` (the tracker then refuses changes) and its end through `onHealed`.
 * `flush` has everything handed over so far written now; `close` finishes the queue first. Start-up errors (the
 * file cannot be opened) are values.
 */
import { Worker } from 'node:worker_threads';
import { createRingBuffer, maxPayload, ringWriter } from './byte-ring.js';
import type { SqliteStore } from './sqlite-store.js';
import type { WorkerReply, WorkerRequest } from './sqlite-worker.js';

export type WorkerStore = SqliteStore;
type Done = Extract<WorkerReply, { op: 'done' }>;

export type MirrorEvents = {
  /** The first failed write of an episode (later ones are the same failure, retried). */
  error(e: string): void;
  /** Writes succeed again after `after` seconds. */
  healed(after: number): void;
  /** One write transaction took this many seconds. */
  written(seconds: number): void;
};

/**
 * Room for about four of the largest batches (4096 changes, ~0.5 MB packed); the worker drains it at least every
 * 20 ms while writes come (about 70 KB at 35,000 announces/s). Every page is touched as the ring cycles, so its
 * whole size ends up in RSS: no bigger than needed.
 */
const RING_BYTES = 2 * 1024 * 1024;

export async function openWorkerStore(
  path: string,
  lagMs: number,
  events: MirrorEvents,
): Promise<{ ok: true; store: WorkerStore } | { ok: false; error: string }> {
  const ringBuffer = createRingBuffer(RING_BYTES);
  const ring = ringWriter(ringBuffer);
  const biggest = maxPayload(ringBuffer);
  // The worker's garbage is short-lived unpacked rows: a small young generation is enough, and V8 would
  // otherwise grow it (and RSS) to tens of MB under a burst of writes.
  const worker = new Worker(new URL('./sqlite-worker.js', import.meta.url), {
    workerData: { path, ring: ringBuffer, lagMs },
    resourceLimits: { maxYoungGenerationSizeMb: 4 },
  });
  /** Requests answered one by one (start-up, clear, counts, close). */
  const waiting = new Map<number, (r: Done) => void>();
  /** Flushes waiting until everything up to an id is done. */
  let flushes: Array<{ id: number; resolve: () => void }> = [];
  /** Writes that found the ring full, in order; they go first when the worker reports progress. */
  const overflow: Array<{ id: number; seq: number; packed: Buffer }> = [];
  let next = 1;
  let doneUpTo = 0;
  let failing = false;
  /** Requests answered while the mirror was failing: over, though not stored. */
  let flushUpTo = 0;
  /** Write ids handed over and not yet done, with when: the lag gauge reads the oldest. */
  const handed: Array<{ id: number; at: number }> = [];

  const drainOverflow = (): void => {
    while (overflow.length > 0 && ring.tryWrite(overflow[0]!.id, overflow[0]!.seq, overflow[0]!.packed)) overflow.shift();
  };
  const ready = new Promise<Done>((resolve) => waiting.set(0, resolve));
  worker.on('message', (r: WorkerReply) => {
    if (r.op === 'healed') {
      failing = false;
      events.healed(r.after);
      return;
    }
    if (!r.ok && r.id !== 0 && !failing) {
      failing = true;
      events.error(r.error ?? 'unknown SQLite error');
    }
    for (const s of r.seconds ?? []) events.written(s);
    // A failed request is over too (the mirror is failing): flushes wait for completion, not success.
    if (r.id > 0 && r.ok) doneUpTo = Math.max(doneUpTo, r.id);
    if (r.id > 0 && !r.ok) flushUpTo = Math.max(flushUpTo, r.id);
    while (handed.length > 0 && handed[0]!.id <= doneUpTo) handed.shift();
    const w = waiting.get(r.id);
    waiting.delete(r.id);
    w?.(r);
    if (flushes.length > 0) {
      const over = Math.max(doneUpTo, flushUpTo);
      const due = flushes.filter((f) => f.id <= over);
      flushes = flushes.filter((f) => f.id > over);
      for (const f of due) f.resolve();
    }
    drainOverflow();
  });
  worker.on('error', (e) => {
    failing = true;
    events.error(`SQLite worker failed: ${e?.message ?? String(e)}`);
    for (const w of waiting.values()) w({ op: 'done', id: -1, ok: false, error: e.message });
    waiting.clear();
    for (const f of flushes) f.resolve();
    flushes = [];
  });
  const first = await ready;
  if (!first.ok) {
    await worker.terminate();
    return { ok: false, error: first.error ?? `cannot open ${path}` };
  }
  const call = (req: WorkerRequest): Promise<Done> => {
    const p = new Promise<Done>((resolve) => waiting.set(req.id, resolve));
    worker.postMessage(req);
    return p;
  };
  let closed = false;
  const store: WorkerStore = {
    path,
    writeBatch(seq, effects) {
      if (closed) return { ok: false, error: 'store closed' };
      const id = next++;
      handed.push({ id, at: performance.now() });
      if (effects.length > biggest) {
        // Too big for the ring (a large state transfer): as a message; the worker keeps the id order.
        const owned = new Uint8Array(effects.length);
        owned.set(effects);
        worker.postMessage({ op: 'write', id, seq, packed: owned } satisfies WorkerRequest, [owned.buffer]);
      } else if (overflow.length > 0 || !ring.tryWrite(id, seq, effects)) {
        overflow.push({ id, seq, packed: Buffer.from(effects) });
      }
      return { ok: true };
    },
    lagSeconds: () => (handed.length === 0 ? 0 : (performance.now() - handed[0]!.at) / 1000),
    clear() {
      if (!closed) void call({ op: 'clear', id: next++ });
    },
    async counts() {
      const r = await call({ op: 'counts', id: next++ });
      return r.counts ?? { torrents: 0, peers: 0, lastSeq: 0 };
    },
    flush() {
      if (closed || doneUpTo >= next - 1) return Promise.resolve();
      const id = next++;
      const p = new Promise<void>((resolve) => flushes.push({ id, resolve }));
      worker.postMessage({ op: 'flush', id } satisfies WorkerRequest);
      return p;
    },
    async close() {
      if (closed) return;
      closed = true;
      await call({ op: 'close', id: next++ });
      await worker.terminate();
    },
  };
  return { ok: true, store };
}
