/**
 * The SQLite mirror's own thread: committed batches arrive packed, in commit order, and are written there, so
 * the event loop that answers peers never waits for SQLite. Every request is answered with `done`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { unpack } from './effects-codec.js';
import { openSqliteStore } from './sqlite-store.js';

export type WorkerRequest =
  | { op: 'write'; id: number; seq: number; packed: Uint8Array }
  | { op: 'clear'; id: number }
  | { op: 'counts'; id: number }
  | { op: 'close'; id: number };
export type WorkerReply = {
  op: 'done'; id: number; ok: boolean; error?: string; counts?: { torrents: number; peers: number; lastSeq: number };
  /** How long the write's transaction took, seconds (the tracker_sqlite_write_seconds metric). */
  seconds?: number;
};

const port = parentPort!;
const opened = openSqliteStore((workerData as { path: string }).path);
if (!opened.ok) {
  port.postMessage({ op: 'done', id: 0, ok: false, error: opened.error } satisfies WorkerReply);
} else {
  const store = opened.store;
  port.postMessage({ op: 'done', id: 0, ok: true } satisfies WorkerReply);
  port.on('message', async (m: WorkerRequest) => {
    let reply: WorkerReply;
    switch (m.op) {
      case 'write': {
        const t0 = performance.now();
        const r = store.writeBatch(m.seq, unpack(Buffer.from(m.packed.buffer, m.packed.byteOffset, m.packed.byteLength)));
        const seconds = (performance.now() - t0) / 1000;
        reply = r.ok ? { op: 'done', id: m.id, ok: true, seconds } : { op: 'done', id: m.id, ok: false, error: r.error, seconds };
        break;
      }
      case 'clear':
        store.clear();
        reply = { op: 'done', id: m.id, ok: true };
        break;
      case 'counts':
        reply = { op: 'done', id: m.id, ok: true, counts: await store.counts() };
        break;
      case 'close':
        store.close();
        port.postMessage({ op: 'done', id: m.id, ok: true } satisfies WorkerReply);
        port.close();
        return;
    }
    port.postMessage(reply);
  });
}
