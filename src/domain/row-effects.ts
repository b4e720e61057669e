/**
 * What applying changes did to the rows of the repository, packed as it happens into one growing buffer: the
 * mirror (the SQLite file) replays exactly these. Rows are named by integers the store already has, so the
 * mirror needs no map of its own: a peer's row is its record's place in the pool (block × 4 + place in block;
 * IPv6 above V6_ROWS) and a torrent's row is its swarm's id. A peer moved by a swap-remove is written at its new
 * row and its old row is deleted. The record bytes are copied at once: a later change of the same batch may
 * reuse the slot.
 *
 * Entry: kind u8, then
 * - PEER: family u8 (4|6), row f64, torrent u32, the record (peer-table.ts: 54 or 66 bytes);
 * - PEER_GONE: row f64;
 * - TORRENT: torrent u32, info hash 20, completed u32, has size u8, size u64, name length i32 (-1: none), name;
 * - TORRENT_GONE: torrent u32.
 */
import { offsetOf, type PeerPool, type PeerTable, slabOf } from './peer-table.js';
import type { Swarm } from './types.js';

const PEER = 1;
const PEER_GONE = 2;
const TORRENT = 3;
const TORRENT_GONE = 4;
/** IPv6 rows start here: IPv4 rows (4 per block) stay far below it. */
export const V6_ROWS = 2 ** 40;

export const rowOf = (p: PeerPool, t: PeerTable, slot: number): number =>
  (p.ipLen === 16 ? V6_ROWS : 0) + t.blocks[slot >>> 2]! * 4 + (slot & 3);

export type EffectLog = {
  peer(s: Swarm, p: PeerPool, t: PeerTable, slot: number): void;
  peerGone(row: number): void;
  torrent(s: Swarm): void;
  torrentGone(s: Swarm): void;
  /** The bytes written since the last reset (a view: copy it before the next reset if it must outlive it). */
  bytes(): Buffer;
  reset(): void;
};

/** Effects go nowhere (tests, tools that need only the read model). */
export const NO_LOG: EffectLog = {
  peer() {},
  peerGone() {},
  torrent() {},
  torrentGone() {},
  bytes: () => Buffer.alloc(0),
  reset() {},
};

export function createEffectLog(initial = 64 * 1024): EffectLog {
  let buf = Buffer.allocUnsafe(initial);
  let at = 0;
  const room = (n: number): void => {
    if (at + n <= buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, at + n));
    buf.copy(bigger, 0, 0, at);
    buf = bigger;
  };
  return {
    peer(s, p, t, slot) {
      room(14 + p.stride);
      buf[at] = PEER;
      buf[at + 1] = p.ipLen === 4 ? 4 : 6;
      buf.writeDoubleLE(rowOf(p, t, slot), at + 2);
      buf.writeUInt32LE(s.id, at + 10);
      const off = offsetOf(p, t, slot);
      slabOf(p, t, slot).copy(buf, at + 14, off, off + p.stride);
      at += 14 + p.stride;
    },
    peerGone(row) {
      room(9);
      buf[at] = PEER_GONE;
      buf.writeDoubleLE(row, at + 1);
      at += 9;
    },
    torrent(s) {
      const name = s.name === null ? null : Buffer.from(s.name, 'utf8');
      room(42 + (name ? name.length : 0));
      buf[at] = TORRENT;
      buf.writeUInt32LE(s.id, at + 1);
      buf.write(s.key, at + 5, 20, 'latin1');
      buf.writeUInt32LE(s.completed >>> 0, at + 25);
      buf[at + 29] = s.size === null ? 0 : 1;
      buf.writeBigUInt64LE(s.size ?? 0n, at + 30);
      buf.writeInt32LE(name ? name.length : -1, at + 38);
      at += 42;
      if (name) at += name.copy(buf, at);
    },
    torrentGone(s) {
      room(5);
      buf[at] = TORRENT_GONE;
      buf.writeUInt32LE(s.id, at + 1);
      at += 5;
    },
    bytes: () => buf.subarray(0, at),
    reset() {
      at = 0;
    },
  };
}

export type TorrentRow = { id: number; infoHash: Buffer; name: string | null; size: bigint | null; completed: number };

/** What an entry says; `data` and `at` locate a peer's record (its bytes from `at`, `stride` long). */
export type EffectVisitor = {
  peer(row: number, torrent: number, family: 4 | 6, data: Buffer, at: number): void;
  peerGone(row: number): void;
  torrent(t: TorrentRow): void;
  torrentGone(id: number): void;
};

/** Read packed entries in order (the buffer came from this thread's own log: trusted, not validated). */
export function readEffects(b: Buffer, visit: EffectVisitor): void {
  let at = 0;
  while (at < b.length) {
    switch (b[at]) {
      case PEER: {
        const family = b[at + 1] === 4 ? 4 : 6;
        visit.peer(b.readDoubleLE(at + 2), b.readUInt32LE(at + 10), family, b, at + 14);
        at += 14 + (family === 4 ? 54 : 66);
        break;
      }
      case PEER_GONE:
        visit.peerGone(b.readDoubleLE(at + 1));
        at += 9;
        break;
      case TORRENT: {
        const nameLen = b.readInt32LE(at + 38);
        visit.torrent({
          id: b.readUInt32LE(at + 1),
          infoHash: b.subarray(at + 5, at + 25),
          completed: b.readUInt32LE(at + 25),
          size: b[at + 29] === 1 ? b.readBigUInt64LE(at + 30) : null,
          name: nameLen < 0 ? null : b.toString('utf8', at + 42, at + 42 + nameLen),
        });
        at += 42 + Math.max(0, nameLen);
        break;
      }
      case TORRENT_GONE:
        visit.torrentGone(b.readUInt32LE(at + 1));
        at += 5;
        break;
      default:
        throw new Error(`unknown row effect ${b[at]}`);
    }
  }
}
