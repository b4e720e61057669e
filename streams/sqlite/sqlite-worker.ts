/**
 * The SQLite mirror's own thread: committed batches arrive packed, in commit order, and are folded per row
 * (write-behind.ts); the file is written when the oldest unwritten batch is `lagMs` old, when MAX_PENDING rows
 * wait, or when asked (flush, counts, close). So the event loop that answers peers never waits for SQLite, and
 * each row is written at most once per window. Writes come through a shared byte ring (cheap for the sender);
 * the rare other requests, and a write too big for the ring, come as messages. Every request has an id and
 * they are carried out strictly in id order, whichever way they came.
 *
 * A write that fails (a full disk) keeps everything pending and is tried again with back-off; the first failure
 * and the recovery are reported (`done` not ok, then `healed`), so the tracker refuses announces in between and
 * needs no state transfer after: the retry that succeeds brings the file to the repository's commit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ringReader } from './byte-ring.js';
import { openSqliteStore } from './sqlite-store.js';
import { createPending } from './write-behind.js';

export type WorkerRequest =
  | { op: 'write'; id: number; seq: number; packed: Uint8Array }
  | { op: 'clear'; id: number }
  | { op: 'flush'; id: number }
  | { op: 'counts'; id: number }
  | { op: 'close'; id: number };
export type WorkerReply =
  | {
      /** Everything up to and including `id` is done (`ok` false: not stored, the mirror is failing, `error`). */
      op: 'done';
      id: number;
      ok: boolean;
      error?: string;
      counts?: { torrents: number; peers: number; lastSeq: number };
      /** How long the write transactions took, seconds each (the tracker_sqlite_write_seconds metric). */
      seconds?: number[];
    }
  /** Writes succeed again after a failure; `after` seconds of retrying. */
  | { op: 'healed'; after: number };

/** Rows waiting before the file is written whatever the lag: bounds the worker's memory under a flood. */
const MAX_PENDING = 200_000;
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;

const port = parentPort!;
const { path, ring: ringBuffer, lagMs } = workerData as { path: string; ring: SharedArrayBuffer; lagMs: number };
const opened = openSqliteStore(path);
if (!opened.ok) {
  port.postMessage({ op: 'done', id: 0, ok: false, error: opened.error } satisfies WorkerReply);
} else {
  const store = opened.store;
  const ring = ringReader(ringBuffer);
  const mailbox = new Map<number, WorkerRequest>();
  const pending = createPending();
  let nextId = 1;
  let closed = false;
  let seconds: number[] = [];
  /** The last write request folded in, and the last one stored (or reported failed). */
  let taken = 0;
  let answered = 0;
  let writtenSeq = 0;
  /** When the oldest unwritten batch came (0: nothing waits). */
  let oldest = 0;
  let failingSince = 0;
  let retryMs = 0;
  let retryAt = 0;

  const fold = (id: number, seq: number, packed: Buffer): void => {
    pending.add(seq, packed);
    taken = id;
    if (oldest === 0) oldest = performance.now();
  };
  const due = (): boolean =>
    oldest !== 0 &&
    (pending.size >= MAX_PENDING || performance.now() - oldest >= lagMs) &&
    (failingSince === 0 || performance.now() >= retryAt);

  const healed = (): void => {
    if (failingSince === 0) return;
    port.postMessage({ op: 'healed', after: (performance.now() - failingSince) / 1000 } satisfies WorkerReply);
    failingSince = 0;
    retryMs = 0;
  };
  /** Write everything pending now; false if the file refused it (it stays pending). */
  const writePending = (): boolean => {
    if (pending.size === 0 && pending.seq === writtenSeq) {
      oldest = 0;
      return failingSince === 0;
    }
    const t0 = performance.now();
    const r = store.writePending(pending);
    seconds.push((performance.now() - t0) / 1000);
    if (r.ok) {
      writtenSeq = pending.seq;
      pending.clear();
      oldest = 0;
      healed();
      return true;
    }
    retryMs = Math.min(RETRY_MAX_MS, Math.max(RETRY_FIRST_MS, retryMs * 2));
    retryAt = performance.now() + retryMs;
    if (failingSince === 0) {
      failingSince = t0;
      port.postMessage({ op: 'done', id: taken, ok: false, error: r.error } satisfies WorkerReply);
      answered = taken;
    }
    return false;
  };
  /** Tell the tracker how far the stored writes go. */
  const acknowledge = (ok: boolean): void => {
    if (taken <= answered) return;
    port.postMessage({ op: 'done', id: taken, ok, seconds } satisfies WorkerReply);
    answered = taken;
    seconds = [];
  };
  const reply = (id: number, ok: boolean, extra: Partial<Extract<WorkerReply, { op: 'done' }>> = {}): void => {
    port.postMessage({ op: 'done', id, ok, ...extra } satisfies WorkerReply);
  };
  const handle = (m: WorkerRequest): void => {
    switch (m.op) {
      case 'write':
        fold(m.id, m.seq, Buffer.from(m.packed.buffer, m.packed.byteOffset, m.packed.byteLength));
        return;
      case 'flush': {
        const ok = writePending();
        acknowledge(ok);
        reply(m.id, ok);
        return;
      }
      case 'clear': {
        // Nothing pending matters any more: an empty file is the state asked for, if it can be written.
        pending.clear();
        oldest = 0;
        writtenSeq = 0;
        const r = store.clear();
        if (r.ok) healed();
        acknowledge(r.ok);
        reply(m.id, r.ok, r.ok ? {} : { error: r.error });
        return;
      }
      case 'counts': {
        const ok = writePending();
        acknowledge(ok);
        reply(m.id, ok, { counts: store.counts() });
        return;
      }
      case 'close':
        acknowledge(writePending());
        closed = true;
        store.close();
        reply(m.id, true);
        port.close();
        return;
    }
  };

  /** Carry out every request whose turn has come, from either channel; write the file when it is due. */
  const pump = (): void => {
    while (!closed) {
      const m = mailbox.get(nextId);
      if (m) {
        mailbox.delete(nextId);
        handle(m);
        nextId++;
        continue;
      }
      if (ring.peekId() === nextId) {
        const r = ring.take()!;
        fold(r.id, r.seq, r.payload);
        nextId++;
        continue;
      }
      break;
    }
    if (!closed && due() && writePending()) acknowledge(true);
  };

  port.on('message', (m: WorkerRequest) => {
    mailbox.set(m.id, m);
    pump();
  });
  port.postMessage({ op: 'done', id: 0, ok: true } satisfies WorkerReply);
  // The ring has no event of its own. While batches keep coming, look every POLL_MS (a wake-up per write would
  // cost the tracker's event loop more than the write); with nothing pending after IDLE_POLLS empty looks, sleep
  // until woken. Pending rows wake the loop by their deadline.
  const POLL_MS = 100;
  const IDLE_POLLS = 10;
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  void (async () => {
    let idle = 0;
    while (!closed) {
      pump();
      if (closed) break;
      if (ring.hasData()) {
        idle = 0;
        // Not its turn yet (an earlier id comes as a message): let the loop run.
        await sleep(1);
      } else if (oldest !== 0) {
        const wait = failingSince !== 0 ? retryAt - performance.now() : oldest + lagMs - performance.now();
        await sleep(Math.max(1, Math.min(POLL_MS, wait)));
      } else if (++idle < IDLE_POLLS) {
        await sleep(POLL_MS);
      } else {
        await ring.waitForData();
        idle = 0;
      }
    }
  })();
}
