/**
 * The SQLite mirror's own thread: committed batches arrive packed, in commit order, and are written there, so
 * the event loop that answers peers never waits for SQLite. Writes come through a shared byte ring (cheap for
 * the sender); the rare other requests, and a write too big for the ring, come as messages. Every request has
 * an id and they are carried out strictly in id order, whichever way they came. Consecutive writes found
 * together go into one transaction (while batches keep coming the worker looks every POLL_MS, so a few rounds
 * gather: SQLite then writes each touched page once for all of them). Writes are acknowledged together (`done`
 * for the last id written), other requests one by one.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ringReader } from './byte-ring.js';
import { unpack } from './effects-codec.js';
import { openSqliteStore } from './sqlite-store.js';

export type WorkerRequest =
  | { op: 'write'; id: number; seq: number; packed: Uint8Array }
  | { op: 'clear'; id: number }
  | { op: 'snapshot'; id: number; seq: number; chunk: Uint8Array }
  | { op: 'counts'; id: number }
  | { op: 'close'; id: number };
export type WorkerReply = {
  /** Everything up to and including `id` is done (`ok` false: request `id` failed, with `error`). */
  op: 'done';
  id: number;
  ok: boolean;
  error?: string;
  counts?: { torrents: number; peers: number; lastSeq: number };
  /** How long the write transactions took, seconds each (the tracker_sqlite_write_seconds metric). */
  seconds?: number[];
};

const port = parentPort!;
const { path, ring: ringBuffer } = workerData as { path: string; ring: SharedArrayBuffer };
const opened = openSqliteStore(path);
if (!opened.ok) {
  port.postMessage({ op: 'done', id: 0, ok: false, error: opened.error } satisfies WorkerReply);
} else {
  const store = opened.store;
  const ring = ringReader(ringBuffer);
  const mailbox = new Map<number, WorkerRequest>();
  let nextId = 1;
  let closed = false;
  let seconds: number[] = [];
  let lastWrite = 0;

  /** Writes taken but not yet stored: consecutive ids, stored together by writeGathered. */
  let gathered: Array<{ id: number; seq: number; packed: Buffer }> = [];
  const writeGathered = (): void => {
    if (gathered.length === 0) return;
    const batch = gathered;
    gathered = [];
    const t0 = performance.now();
    const r = store.writeBatches(batch.map((w) => ({ seq: w.seq, effects: unpack(w.packed) })));
    seconds.push((performance.now() - t0) / 1000);
    // All or none: the first id of the run carries the error; the tracker votes ERROR until resynchronised.
    if (!r.ok) port.postMessage({ op: 'done', id: batch[0]!.id, ok: false, error: r.error } satisfies WorkerReply);
    lastWrite = batch[batch.length - 1]!.id;
  };
  const acknowledgeWrites = (): void => {
    if (lastWrite === 0) return;
    port.postMessage({ op: 'done', id: lastWrite, ok: true, seconds } satisfies WorkerReply);
    lastWrite = 0;
    seconds = [];
  };
  const handle = async (m: WorkerRequest): Promise<void> => {
    // Everything before this request, in id order, is stored first.
    if (m.op !== 'write') writeGathered();
    switch (m.op) {
      case 'write':
        gathered.push({ id: m.id, seq: m.seq, packed: Buffer.from(m.packed.buffer, m.packed.byteOffset, m.packed.byteLength) });
        return;
      case 'snapshot': {
        const r = store.writeSnapshot(m.seq, Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength));
        acknowledgeWrites();
        port.postMessage({ op: 'done', id: m.id, ...(r.ok ? { ok: true } : { ok: false, error: r.error }) } satisfies WorkerReply);
        return;
      }
      case 'clear':
        store.clear();
        acknowledgeWrites();
        port.postMessage({ op: 'done', id: m.id, ok: true } satisfies WorkerReply);
        return;
      case 'counts': {
        const counts = await store.counts();
        acknowledgeWrites();
        port.postMessage({ op: 'done', id: m.id, ok: true, counts } satisfies WorkerReply);
        return;
      }
      case 'close':
        acknowledgeWrites();
        closed = true;
        store.close();
        port.postMessage({ op: 'done', id: m.id, ok: true } satisfies WorkerReply);
        port.close();
        return;
    }
  };

  /** Carry out every request whose turn has come, from either channel. */
  let pumping = false;
  const pump = async (): Promise<void> => {
    if (pumping) return;
    pumping = true;
    try {
      while (!closed) {
        const m = mailbox.get(nextId);
        if (m) {
          mailbox.delete(nextId);
          await handle(m);
          nextId++;
          continue;
        }
        if (ring.peekId() === nextId) {
          const r = ring.take()!;
          gathered.push({ id: r.id, seq: r.seq, packed: r.payload });
          nextId++;
          continue;
        }
        break;
      }
      writeGathered();
      acknowledgeWrites();
    } finally {
      pumping = false;
    }
  };

  port.on('message', (m: WorkerRequest) => {
    mailbox.set(m.id, m);
    void pump();
  });
  port.postMessage({ op: 'done', id: 0, ok: true } satisfies WorkerReply);
  // The ring has no event of its own. While batches keep coming, look every POLL_MS (a wake-up per write would
  // cost the tracker's event loop more than the write); after IDLE_POLLS empty looks, sleep until woken.
  const POLL_MS = 100;
  const IDLE_POLLS = 10;
  void (async () => {
    let idle = 0;
    while (!closed) {
      await pump();
      if (closed) break;
      if (ring.hasData()) {
        idle = 0;
        // Not its turn yet (an earlier id comes as a message) or a pump is busy elsewhere: let the loop run.
        await new Promise((r) => setTimeout(r, 1));
      } else if (++idle < IDLE_POLLS) {
        await new Promise((r) => setTimeout(r, POLL_MS));
      } else {
        await ring.waitForData();
        idle = 0;
      }
    }
  })();
}
