/**
 * The SQLite mirror written by a worker thread (sqlite-worker.ts). `writeBatch` packs the batch into a shared
 * byte ring and returns at once; the worker writes batches in the order they were committed. A failure comes
 * back later through `onError` (the repository then votes ERROR until a resync). `flush` resolves when
 * everything handed over so far is stored; `close` finishes the queue first. Start-up errors (the file cannot
 * be opened) are values.
 */
import { Worker } from 'node:worker_threads';
import { createRingBuffer, maxPayload, ringWriter } from './byte-ring.js';
import { pack } from './effects-codec.js';
import type { SqliteStore } from './sqlite-store.js';
import type { WorkerReply, WorkerRequest } from './sqlite-worker.js';

export type WorkerStore = SqliteStore;

/**
 * Room for about four of the largest batches (4096 changes, ~0.5 MB packed); the worker drains it at least every
 * 20 ms while writes come (about 70 KB at 35,000 announces/s). Every page is touched as the ring cycles, so its
 * whole size ends up in RSS: no bigger than needed.
 */
const RING_BYTES = 2 * 1024 * 1024;

export async function openWorkerStore(
  path: string,
  onError: (e: string) => void,
  onWritten?: (seconds: number) => void,
): Promise<{ ok: true; store: WorkerStore } | { ok: false; error: string }> {
  const ringBuffer = createRingBuffer(RING_BYTES);
  const ring = ringWriter(ringBuffer);
  const biggest = maxPayload(ringBuffer);
  // The worker's garbage is short-lived unpacked rows: a small young generation is enough, and V8 would
  // otherwise grow it (and RSS) to tens of MB under a burst of writes.
  const worker = new Worker(new URL('./sqlite-worker.js', import.meta.url), {
    workerData: { path, ring: ringBuffer },
    resourceLimits: { maxYoungGenerationSizeMb: 4 },
  });
  /** Requests answered one by one (start-up, clear, counts, close). */
  const waiting = new Map<number, (r: WorkerReply) => void>();
  /** Flushes waiting until everything up to an id is done. */
  let flushes: Array<{ id: number; resolve: () => void }> = [];
  /** Writes that found the ring full, in order; they go first when the worker reports progress. */
  const overflow: Array<{ id: number; seq: number; packed: Buffer }> = [];
  let next = 1;
  let doneUpTo = 0;

  const drainOverflow = (): void => {
    while (overflow.length > 0 && ring.tryWrite(overflow[0]!.id, overflow[0]!.seq, overflow[0]!.packed)) overflow.shift();
  };
  const ready = new Promise<WorkerReply>((resolve) => waiting.set(0, resolve));
  worker.on('message', (r: WorkerReply) => {
    if (!r.ok && r.id !== 0) onError(r.error ?? 'unknown SQLite error');
    for (const s of r.seconds ?? []) onWritten?.(s);
    // A failed request is over too (its error went to onError): flushes wait for completion, not success.
    if (r.id > 0) doneUpTo = Math.max(doneUpTo, r.id);
    const w = waiting.get(r.id);
    waiting.delete(r.id);
    w?.(r);
    if (flushes.length > 0) {
      const due = flushes.filter((f) => f.id <= doneUpTo);
      flushes = flushes.filter((f) => f.id > doneUpTo);
      for (const f of due) f.resolve();
    }
    drainOverflow();
  });
  worker.on('error', (e) => {
    onError(`SQLite worker failed: ${e.message}`);
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
  const call = (req: WorkerRequest): Promise<WorkerReply> => {
    const p = new Promise<WorkerReply>((resolve) => waiting.set(req.id, resolve));
    worker.postMessage(req);
    return p;
  };
  let closed = false;
  const store: WorkerStore = {
    path,
    writeBatch(seq, effects) {
      if (closed) return { ok: false, error: 'store closed' };
      const packed = pack(effects as Parameters<typeof pack>[0]);
      const id = next++;
      if (packed.length > biggest) {
        // Too big for the ring (a large state transfer): as a message; the worker keeps the id order.
        const owned = new Uint8Array(packed.length);
        owned.set(packed);
        worker.postMessage({ op: 'write', id, seq, packed: owned } satisfies WorkerRequest, [owned.buffer]);
      } else if (overflow.length > 0 || !ring.tryWrite(id, seq, packed)) {
        overflow.push({ id, seq, packed });
      }
      return { ok: true };
    },
    writeSnapshot(seq, chunk) {
      if (closed) return { ok: false, error: 'store closed' };
      const owned = new Uint8Array(chunk.length);
      owned.set(chunk);
      worker.postMessage({ op: 'snapshot', id: next++, seq, chunk: owned } satisfies WorkerRequest, [owned.buffer]);
      return { ok: true };
    },
    clear() {
      if (!closed) void call({ op: 'clear', id: next++ });
    },
    async counts() {
      const r = await call({ op: 'counts', id: next++ });
      return r.counts ?? { torrents: 0, peers: 0, lastSeq: 0 };
    },
    flush() {
      const upTo = next - 1;
      if (doneUpTo >= upTo) return Promise.resolve();
      return new Promise<void>((resolve) => flushes.push({ id: upTo, resolve }));
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
