/**
 * The repository as a state transfer carries it: swarm after swarm, each copied whole at one commit (its cut),
 * its peers as the packed records of peer-table.ts, byte for byte, so neither side makes an object per peer.
 * The sender walks the live store a chunk at a time (service goes on between chunks); a swarm changed after it
 * was copied is brought up to date on the receiver by the rounds after its cut (actors/repository.ts).
 *
 * Entries, little-endian:
 *   swarm    1 | info hash 20 | cut u48 | completed u32 | flags u8 (1 name, 2 size) | [name length u16 | UTF-8] | [size u64]
 *   records  2 | family u8 (4 or 6) | count u32 | count × record (54 or 66 bytes)
 * A records entry belongs to the last swarm entry before it: a large swarm spans several chunks.
 */
import {
  addPeer,
  createPeerTable,
  findPeer,
  isSeederAt,
  offsetOf,
  type PeerPool,
  type PeerTable,
  releaseTable,
  slabOf,
} from './peer-table.js';
import { type EffectLog, NO_LOG, rowOf } from './row-effects.js';
import { getSwarm, swarmFor, tables } from './swarm.js';
import type { Swarm, SwarmStore } from './types.js';

const SWARM = 1;
const RECORDS = 2;
const HAS_NAME = 1;
const HAS_SIZE = 2;
const RECORDS_HEADER = 6;

type Frozen = { readonly family: 4 | 6; readonly data: Buffer; at: number; readonly stride: number };

export type SnapshotChunk = { readonly data: Buffer; readonly records: number; readonly done: boolean };
export type SnapshotCursor = { next(maxBytes: number): SnapshotChunk };

/**
 * Walks `store` from its first swarm. `cut()` is the last commit applied when a swarm is copied. Swarms created
 * while the walk goes on are met too (a Map iterator sees entries added after it started).
 */
export function snapshotCursor(store: SwarmStore, cut: () => number): SnapshotCursor {
  const swarms = store.swarms.values();
  let pending: Frozen[] = [];
  let finished = false;
  return {
    next(maxBytes) {
      const parts: Buffer[] = [];
      let size = 0;
      let records = 0;
      while (size < maxBytes && !finished) {
        const p = pending[0];
        if (p) {
          const room = Math.max(1, Math.floor((maxBytes - size - RECORDS_HEADER) / p.stride));
          const n = Math.min(room, (p.data.length - p.at) / p.stride);
          const head = Buffer.allocUnsafe(RECORDS_HEADER);
          head[0] = RECORDS;
          head[1] = p.family;
          head.writeUInt32LE(n, 2);
          parts.push(head, p.data.subarray(p.at, p.at + n * p.stride));
          size += RECORDS_HEADER + n * p.stride;
          records += n;
          p.at += n * p.stride;
          if (p.at >= p.data.length) pending.shift();
          continue;
        }
        const it = swarms.next();
        if (it.done) {
          finished = true;
          break;
        }
        const head = swarmEntry(it.value, cut());
        parts.push(head);
        size += head.length;
        pending = frozenTables(store, it.value);
      }
      return { data: Buffer.concat(parts, size), records, done: finished && pending.length === 0 };
    },
  };
}

function swarmEntry(s: Swarm, cut: number): Buffer {
  const name = s.name === null ? null : Buffer.from(s.name, 'utf8').subarray(0, 0xffff);
  const b = Buffer.allocUnsafe(32 + (name ? 2 + name.length : 0) + (s.size === null ? 0 : 8));
  b[0] = SWARM;
  b.write(s.key, 1, 20, 'latin1');
  let at = b.writeUIntLE(cut, 21, 6);
  at = b.writeUInt32LE(s.completed >>> 0, at);
  b[at++] = (name ? HAS_NAME : 0) | (s.size === null ? 0 : HAS_SIZE);
  if (name) {
    at = b.writeUInt16LE(name.length, at);
    at += name.copy(b, at);
  }
  if (s.size !== null) at = b.writeBigUInt64LE(BigInt.asUintN(64, s.size), at);
  return b.subarray(0, at);
}

/** The swarm's records copied now (a block of four records is contiguous in its slab). */
function frozenTables(store: SwarmStore, s: Swarm): Frozen[] {
  const out: Frozen[] = [];
  for (const [p, t] of tables(store, s)) {
    if (t.count === 0) continue;
    const data = Buffer.allocUnsafe(t.count * p.stride);
    for (let slot = 0; slot < t.count; slot += 4) {
      const n = Math.min(4, t.count - slot);
      const from = offsetOf(p, t, slot);
      slabOf(p, t, slot).copy(data, slot * p.stride, from, from + n * p.stride);
    }
    out.push({ family: p.ipLen === 4 ? 4 : 6, data, at: 0, stride: p.stride });
  }
  return out;
}

export type ReadChunk = { readonly ok: true; readonly records: number } | { readonly ok: false; readonly error: string };

/** One swarm entry as read. */
export type SwarmEntry = {
  readonly infoHash: Buffer;
  readonly cut: number;
  readonly completed: number;
  readonly name: string | null;
  readonly size: bigint | null;
};

/** What a chunk holds, entry by entry: records as `count` packed records of `stride` bytes from `at`. */
export type ChunkVisitor = {
  swarm(e: SwarmEntry): void;
  records(family: 4 | 6, data: Buffer, at: number, count: number): void;
};

export const recordStride = (family: 4 | 6): number => (family === 4 ? 54 : 66);

/**
 * Read a chunk's entries in order. Anything truncated or out of range stops it with an error (what was visited
 * before stays visited: the transfer is then started over). `continues`: the chunk may begin with records of a
 * swarm started in an earlier one.
 */
export function scanChunk(data: Buffer, continues: boolean, visit: ChunkVisitor): ReadChunk {
  let at = 0;
  let records = 0;
  let inSwarm = continues;
  const need = (n: number): boolean => at + n <= data.length;
  while (at < data.length) {
    const kind = data[at++];
    if (kind === SWARM) {
      if (!need(31)) return { ok: false, error: 'truncated swarm entry' };
      const infoHash = Buffer.from(data.subarray(at, at + 20));
      const cut = data.readUIntLE(at + 20, 6);
      const completed = data.readUInt32LE(at + 26);
      const flags = data[at + 30]!;
      at += 31;
      let name: string | null = null;
      let size: bigint | null = null;
      if (flags & HAS_NAME) {
        if (!need(2) || !need(2 + data.readUInt16LE(at))) return { ok: false, error: 'truncated name' };
        const len = data.readUInt16LE(at);
        name = data.toString('utf8', at + 2, at + 2 + len);
        at += 2 + len;
      }
      if (flags & HAS_SIZE) {
        if (!need(8)) return { ok: false, error: 'truncated size' };
        size = data.readBigUInt64LE(at);
        at += 8;
      }
      visit.swarm({ infoHash, cut, completed, name, size });
      inSwarm = true;
    } else if (kind === RECORDS) {
      if (!inSwarm) return { ok: false, error: 'records before any swarm' };
      if (!need(5)) return { ok: false, error: 'truncated records entry' };
      const family = data[at]!;
      const count = data.readUInt32LE(at + 1);
      at += 5;
      if (family !== 4 && family !== 6) return { ok: false, error: `bad address family ${family}` };
      const stride = recordStride(family);
      if (!need(count * stride)) return { ok: false, error: 'truncated records' };
      visit.records(family, data, at, count);
      at += count * stride;
      records += count;
    } else {
      return { ok: false, error: `unknown entry ${kind}` };
    }
  }
  return { ok: true, records };
}

/** The swarm the last entry read belongs to: the next chunk's first records may continue it. */
export type ChunkReader = { current: Swarm | null };

/**
 * Install one chunk into `store`, its rows logged to `out` for the mirror. `onSwarm` hears each swarm's key and
 * cut. A swarm met again (copied twice by a walk that saw it re-created) replaces its first copy. `reader`
 * carries the swarm being read from one chunk to the next.
 */
export function readChunk(
  store: SwarmStore,
  reader: ChunkReader,
  data: Buffer,
  onSwarm: (key: string, cut: number) => void,
  out: EffectLog = NO_LOG,
): ReadChunk {
  return scanChunk(data, reader.current !== null, {
    swarm(e) {
      const swarm = freshSwarm(store, e.infoHash, out);
      swarm.describe(e.name, e.size);
      swarm.completed = e.completed;
      out.torrent(swarm);
      onSwarm(swarm.key, e.cut);
      reader.current = swarm;
    },
    records(family, bytes, at, count) {
      const s = reader.current!;
      const pool = family === 4 ? store.v4 : store.v6;
      if (family === 6 && !s.v6) s.v6 = createPeerTable();
      const table = family === 4 ? s.v4 : s.v6!;
      for (let i = 0; i < count; i++) putRecord(s, pool, table, bytes, at + i * pool.stride, out);
    },
  });
}

/** The swarm emptied of any earlier copy (its rows logged as gone). */
function freshSwarm(store: SwarmStore, infoHash: Buffer, out: EffectLog): Swarm {
  const old = getSwarm(store, infoHash);
  if (old) {
    for (const [p, t] of tables(store, old)) {
      for (let i = 0; i < t.count; i++) out.peerGone(rowOf(p, t, i));
      releaseTable(p, t);
    }
    old.seeders = 0;
  }
  return swarmFor(store, infoHash);
}

function putRecord(s: Swarm, pool: PeerPool, table: PeerTable, data: Buffer, at: number, out: EffectLog): void {
  const peerId = data.subarray(at, at + 20);
  let slot = findPeer(pool, table, peerId);
  if (slot < 0) slot = addPeer(pool, table, peerId);
  else if (isSeederAt(pool, table, slot)) s.seeders--;
  data.copy(slabOf(pool, table, slot), offsetOf(pool, table, slot) + 20, at + 20, at + pool.stride);
  if (isSeederAt(pool, table, slot)) s.seeders++;
  out.peer(s, pool, table, slot);
}
