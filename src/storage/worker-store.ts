/**
 * The SQLite mirror written by a worker thread (sqlite-worker.ts). `writeBatch` packs the batch and returns at
 * once; the worker writes batches in the order they were committed. A failure comes back later through
 * `onError` (the repository then votes ERROR until a resync). `flush` resolves when everything handed over so
 * far is stored; `close` finishes the queue first. Start-up errors (the file cannot be opened) are values.
 */
import { Worker } from 'node:worker_threads';
import { pack } from './effects-codec.js';
import type { SqliteStore } from './sqlite-store.js';
import type { WorkerReply, WorkerRequest } from './sqlite-worker.js';

export type WorkerStore = SqliteStore;

export async function openWorkerStore(
  path: string, onError: (e: string) => void, onWritten?: (seconds: number) => void,
): Promise<{ ok: true; store: WorkerStore } | { ok: false; error: string }> {
  const worker = new Worker(new URL('./sqlite-worker.js', import.meta.url), { workerData: { path } });
  const waiting = new Map<number, (r: WorkerReply) => void>();
  let next = 1;
  let last: Promise<WorkerReply> = Promise.resolve({ op: 'done', id: 0, ok: true });
  const ready = new Promise<WorkerReply>((resolve) => waiting.set(0, resolve));
  worker.on('message', (r: WorkerReply) => {
    const w = waiting.get(r.id);
    waiting.delete(r.id);
    if (!r.ok && r.id !== 0) onError(r.error ?? 'unknown SQLite error');
    if (r.seconds !== undefined) onWritten?.(r.seconds);
    w?.(r);
  });
  worker.on('error', (e) => {
    onError(`SQLite worker failed: ${e.message}`);
    for (const w of waiting.values()) w({ op: 'done', id: -1, ok: false, error: e.message });
    waiting.clear();
  });
  const first = await ready;
  if (!first.ok) {
    await worker.terminate();
    return { ok: false, error: first.error ?? `cannot open ${path}` };
  }
  const send = (req: WorkerRequest, transfer?: ArrayBuffer[]): Promise<WorkerReply> => {
    last = new Promise<WorkerReply>((resolve) => waiting.set(req.id, resolve));
    worker.postMessage(req, transfer ?? []);
    return last;
  };
  let closed = false;
  const store: WorkerStore = {
    path,
    writeBatch(seq, effects) {
      if (closed) return { ok: false, error: 'store closed' };
      const packed = pack(effects as Parameters<typeof pack>[0]);
      // A fresh, unpooled copy can be transferred instead of cloned.
      const owned = new Uint8Array(packed.length);
      owned.set(packed);
      void send({ op: 'write', id: next++, seq, packed: owned }, [owned.buffer]);
      return { ok: true };
    },
    clear() {
      if (!closed) void send({ op: 'clear', id: next++ });
    },
    async counts() {
      const r = await send({ op: 'counts', id: next++ });
      return r.counts ?? { torrents: 0, peers: 0, lastSeq: 0 };
    },
    flush: async () => {
      await last;
    },
    async close() {
      if (closed) return;
      closed = true;
      await send({ op: 'close', id: next++ });
      await worker.terminate();
    },
  };
  return { ok: true, store };
}
