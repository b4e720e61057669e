/**
 * A single-producer, single-consumer ring of records in a SharedArrayBuffer: how committed batches reach the
 * SQLite thread. A postMessage costs the event loop 100–500 µs while the worker is busy (measured); writing
 * here is a copy, plus an Atomics.notify only when the reader sleeps: under load it polls (see sqlite-worker.ts).
 *
 * Layout: a control block of Int32 (head: write offset, tail: read offset), then `size` data bytes. A record is
 * [u32 length incl. header and padding][u32 id][u32 seq][u32 payload length][payload], padded to 4 bytes; a length of 0 means "wrapped: go on at
 * offset 0". head === tail means empty, so the writer never fills the ring completely.
 */

const HEAD = 0;
const TAIL = 1;
/** 1 while the reader waits on HEAD: only then does a write pay for a wake-up. */
const SLEEPING = 2;
const CTL_BYTES = 16;
const HEADER = 16;

// Node 20 has Atomics.waitAsync; the ES2022 lib this project compiles against does not declare it.
type WaitAsync = (a: Int32Array, index: number, value: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export type RingRecord = { readonly id: number; readonly seq: number; readonly payload: Buffer };

export function createRingBuffer(size: number): SharedArrayBuffer {
  if (size % 4 !== 0 || size < 64) throw new Error('ring size must be a multiple of 4, at least 64');
  return new SharedArrayBuffer(CTL_BYTES + size);
}

const view = (sab: SharedArrayBuffer) => {
  const ctl = new Int32Array(sab, 0, CTL_BYTES / 4);
  const data = Buffer.from(sab, CTL_BYTES);
  return { ctl, data, size: data.length };
};

/** Largest payload that can ever fit (anything bigger must travel another way). */
export const maxPayload = (sab: SharedArrayBuffer): number => Math.floor((sab.byteLength - CTL_BYTES) / 2) - HEADER;

export function ringWriter(sab: SharedArrayBuffer) {
  const { ctl, data, size } = view(sab);
  const biggest = maxPayload(sab) + HEADER;
  return {
    /** Append a record; false when there is no room now (the caller keeps it and retries later). */
    tryWrite(id: number, seq: number, payload: Uint8Array): boolean {
      const len = (HEADER + payload.length + 3) & ~3;
      if (len > biggest) return false;
      const h = Atomics.load(ctl, HEAD);
      const t = Atomics.load(ctl, TAIL);
      let at: number;
      if (h >= t) {
        // Room at the end (strictly less, so the new head stays inside), else wrap if the start has room.
        if (len < size - h) at = h;
        else if (len < t) at = 0;
        else return false;
      } else {
        if (len < t - h) at = h;
        else return false;
      }
      if (at === 0 && h !== 0) data.writeUInt32LE(0, h); // wrap marker: the reader restarts at 0
      data.writeUInt32LE(len, at);
      data.writeUInt32LE(id >>> 0, at + 4);
      data.writeUInt32LE(seq >>> 0, at + 8);
      data.writeUInt32LE(payload.length, at + 12);
      data.set(payload, at + HEADER);
      // The store publishes the bytes above to the reader (Atomics are sequentially consistent).
      Atomics.store(ctl, HEAD, at + len);
      // Waking a thread costs the writer far more than the copy: only when the reader is really asleep.
      if (Atomics.load(ctl, SLEEPING) === 1) Atomics.notify(ctl, HEAD);
      return true;
    },
  };
}

export function ringReader(sab: SharedArrayBuffer) {
  const { ctl, data } = view(sab);
  let tail = Atomics.load(ctl, TAIL);
  const skipWrap = (): void => {
    if (tail !== Atomics.load(ctl, HEAD) && data.readUInt32LE(tail) === 0) {
      tail = 0;
      Atomics.store(ctl, TAIL, 0);
    }
  };
  return {
    /** The next record's id without consuming it, or null when empty. */
    peekId(): number | null {
      skipWrap();
      return tail === Atomics.load(ctl, HEAD) ? null : data.readUInt32LE(tail + 4);
    },
    /** Consume the next record (its payload copied out: the writer may reuse the space at once). */
    take(): RingRecord | null {
      skipWrap();
      if (tail === Atomics.load(ctl, HEAD)) return null;
      const len = data.readUInt32LE(tail);
      const rec: RingRecord = {
        id: data.readUInt32LE(tail + 4),
        seq: data.readUInt32LE(tail + 8),
        payload: Buffer.from(data.subarray(tail + HEADER, tail + HEADER + data.readUInt32LE(tail + 12))),
      };
      tail += len;
      Atomics.store(ctl, TAIL, tail);
      return rec;
    },
    /** Whether the writer has appended anything not taken yet. */
    hasData: (): boolean => Atomics.load(ctl, HEAD) !== tail,
    /** Resolves once the writer has appended since `take`/`peekId` last saw the ring empty (or at once if it has). */
    async waitForData(): Promise<void> {
      // Announce the sleep before the last look: a write after this look sees the flag and wakes us.
      Atomics.store(ctl, SLEEPING, 1);
      const h = Atomics.load(ctl, HEAD);
      if (h !== tail) {
        Atomics.store(ctl, SLEEPING, 0);
        return;
      }
      const r = waitAsync(ctl, HEAD, h);
      if (r.async) await r.value;
      Atomics.store(ctl, SLEEPING, 0);
    },
  };
}
