/**
 * Swarm logic: applying changes to the read model and answering from it. Deterministic and free of I/O and
 * clocks, so every replica that applies the same changes in the same order ends with the same state.
 * Peers live in packed tables (peer-table.ts); PeerState objects are made only for persistence and displays.
 */
import { Event } from '../protocol/constants.js';
import type { CompactPeer, ScrapeEntry } from '../protocol/types.js';
import {
  addPeer,
  BLOCK,
  blockSlab,
  blockStart,
  createPeerPool,
  createPeerTable,
  findPeer,
  isSeederAt,
  OFF_DOWN,
  OFF_IP,
  OFF_LEFT,
  OFF_PORT,
  OFF_SEEN,
  OFF_UP,
  offsetOf,
  releaseTable,
  removePeer,
  seenAt,
  slabOf,
  type PeerPool,
  type PeerTable,
} from './peer-table.js';
import { type EffectLog, NO_LOG, rowOf } from './row-effects.js';
import type { AnnounceChange, Change, PeerState, Swarm, SwarmStore } from './types.js';

export const DEFAULT_NUM_WANT = 50;
export const MAX_NUM_WANT = 200;

export const createStore = (): SwarmStore => ({ swarms: new Map(), v4: createPeerPool(4), v6: createPeerPool(16), nextId: 1 });

const hashKey = (h: Buffer): string => h.toString('latin1');

/**
 * A class so the getters are shared on the prototype rather than fields in each of many swarms. The record is
 * its own IPv4 peer table (one object per swarm, not two), and the rarely set .torrent metadata sits behind one
 * field: with 100,000 swarms every field costs 0.8 MB.
 */
class SwarmRecord implements Swarm, PeerTable {
  blocks: number[] = [];
  count = 0;
  index: Int32Array | null = null;
  v6: PeerTable | null = null;
  seeders = 0;
  completed = 0;
  private meta: { name: string | null; size: bigint | null } | null = null;
  constructor(
    readonly key: string,
    readonly id: number,
  ) {}
  get infoHash(): Buffer {
    return Buffer.from(this.key, 'latin1');
  }
  get v4(): PeerTable {
    return this;
  }
  get name(): string | null {
    return this.meta ? this.meta.name : null;
  }
  get size(): bigint | null {
    return this.meta ? this.meta.size : null;
  }
  describe(name: string | null, size: bigint | null): void {
    this.meta = name === null && size === null ? null : { name, size };
  }
}

export function getSwarm(store: SwarmStore, infoHash: Buffer): Swarm | undefined {
  return store.swarms.get(hashKey(infoHash));
}

/** The swarm of `infoHash`, created empty when the store has none. */
export function swarmFor(store: SwarmStore, infoHash: Buffer): Swarm {
  const key = hashKey(infoHash);
  let s = store.swarms.get(key);
  if (!s) {
    s = new SwarmRecord(key, store.nextId++);
    store.swarms.set(key, s);
  }
  return s;
}

/** The change an announce asks for, whichever frontend read it: the peer at `ip`, seen at `at` (ms). */
export function announceChange(req: Omit<AnnounceChange, 'kind' | 'ip' | 'at'>, ip: Buffer, at: number): AnnounceChange {
  const { infoHash, peerId, port, uploaded, downloaded, left, event } = req;
  return { kind: 'announce', infoHash, peerId, ip, port, uploaded, downloaded, left, event, at };
}

export const peerCount = (s: Swarm): number => s.v4.count + (s.v6 ? s.v6.count : 0);
export const leechers = (s: Swarm): number => peerCount(s) - s.seeders;

/** Each of the swarm's tables with the pool its records live in. */
export function tables(store: SwarmStore, s: Swarm): Array<[PeerPool, PeerTable]> {
  return s.v6
    ? [
        [store.v4, s.v4],
        [store.v6, s.v6],
      ]
    : [[store.v4, s.v4]];
}

export function peerAt(p: PeerPool, t: PeerTable, slot: number): PeerState {
  const d = slabOf(p, t, slot);
  const at = offsetOf(p, t, slot);
  return {
    peerId: Buffer.from(d.subarray(at, at + 20)),
    ip: Buffer.from(d.subarray(at + OFF_IP, at + OFF_IP + p.ipLen)),
    port: d.readUInt16LE(at + OFF_PORT),
    uploaded: d.readBigUInt64LE(at + OFF_UP),
    downloaded: d.readBigUInt64LE(at + OFF_DOWN),
    left: d.readBigUInt64LE(at + OFF_LEFT),
    lastSeen: d.readUInt32LE(at + OFF_SEEN) * 1000,
  };
}

/** Every peer as an object: for snapshots, digests and displays, never on the request path. */
export function peersOf(store: SwarmStore, s: Swarm): PeerState[] {
  const out: PeerState[] = [];
  for (const [p, t] of tables(store, s)) for (let i = 0; i < t.count; i++) out.push(peerAt(p, t, i));
  return out;
}

/** Remove one peer; the record moved into its slot is logged at its new row, and the last row as gone. */
function removeSlot(s: Swarm, p: PeerPool, t: PeerTable, slot: number, out: EffectLog): void {
  if (isSeederAt(p, t, slot)) s.seeders--;
  const last = t.count - 1;
  const lastRow = rowOf(p, t, last);
  removePeer(p, t, slot);
  if (slot !== last) out.peer(s, p, t, slot);
  out.peerGone(lastRow);
}

/**
 * Swarms a change must leave alone, by store key: after a state transfer, a swarm copied from the Master at a
 * later commit than the round being applied already holds that round's effect (repository.ts).
 */
export type SkipSwarm = ((key: string) => boolean) | undefined;

function applyAnnounce(store: SwarmStore, c: AnnounceChange, out: EffectLog, skip: SkipSwarm): void {
  if (skip?.(hashKey(c.infoHash))) return;
  // A stop from a peer of a swarm we never saw changes nothing: no empty swarm without a row in the mirror.
  if (c.event === Event.stopped && !getSwarm(store, c.infoHash)) return;
  const s = swarmFor(store, c.infoHash);
  const v4 = c.ip.length === 4;
  const pool = v4 ? store.v4 : store.v6;
  if (!v4 && !s.v6) s.v6 = createPeerTable();
  const table = v4 ? s.v4 : s.v6!;
  let slot = findPeer(pool, table, c.peerId);
  // A peer that moved to the other address family is the same peer: drop its old record.
  const other = v4 ? s.v6 : s.v4;
  const otherPool = v4 ? store.v6 : store.v4;
  if (slot < 0 && other) {
    const old = findPeer(otherPool, other, c.peerId);
    if (old >= 0) removeSlot(s, otherPool, other, old, out);
  }

  if (c.event === Event.stopped) {
    if (slot >= 0) removeSlot(s, pool, table, slot, out);
    return;
  }

  const wasSeeder = slot >= 0 && isSeederAt(pool, table, slot);
  // A download counts once: a `completed` from a peer we already knew as a seeder is a repeat.
  if (c.event === Event.completed && !wasSeeder) {
    s.completed++;
    out.torrent(s);
  } else if (peerCount(s) === 0 && slot < 0) {
    out.torrent(s);
  }

  if (slot < 0) slot = addPeer(pool, table, c.peerId);
  else if (wasSeeder) s.seeders--;
  const d = slabOf(pool, table, slot);
  const at = offsetOf(pool, table, slot);
  d.writeUInt16LE(c.port, at + OFF_PORT);
  d.writeUInt32LE(Math.floor(c.at / 1000) >>> 0, at + OFF_SEEN);
  d.writeBigUInt64LE(c.uploaded, at + OFF_UP);
  d.writeBigUInt64LE(c.downloaded, at + OFF_DOWN);
  d.writeBigUInt64LE(c.left, at + OFF_LEFT);
  c.ip.copy(d, at + OFF_IP, 0, pool.ipLen);
  if (c.left === 0n) s.seeders++;
  out.peer(s, pool, table, slot);
}

function applyExpire(store: SwarmStore, before: number, out: EffectLog, skip: SkipSwarm): void {
  const cutoff = before / 1000;
  for (const [key, s] of store.swarms) {
    if (skip?.(key)) continue;
    for (const [p, t] of tables(store, s)) {
      for (let i = t.count - 1; i >= 0; i--) if (seenAt(p, t, i) < cutoff) removeSlot(s, p, t, i, out);
    }
    if (peerCount(s) === 0 && s.name === null) {
      for (const [p, t] of tables(store, s)) releaseTable(p, t);
      store.swarms.delete(key);
      out.torrentGone(s);
    }
  }
}

/** Apply one change; its row effects for persistence are appended to `out`. */
export function applyChange(store: SwarmStore, c: Change, out: EffectLog = NO_LOG, skip?: SkipSwarm): void {
  switch (c.kind) {
    case 'announce':
      applyAnnounce(store, c, out, skip);
      break;
    case 'expire':
      applyExpire(store, c.before, out, skip);
      break;
    case 'torrent': {
      if (skip?.(hashKey(c.infoHash))) break;
      const s = swarmFor(store, c.infoHash);
      s.describe(c.name, c.size);
      if (c.completed !== undefined) s.completed = c.completed;
      out.torrent(s);
      break;
    }
  }
}

/** BEP 15 num_want: negative means "default"; the cap keeps a reply inside one datagram. */
export function effectiveNumWant(numWant: number, family: 4 | 6): number {
  const cap = family === 4 ? MAX_NUM_WANT : 80; // 80 × 18 bytes + header stays under a 1500-byte MTU
  const wanted = numWant < 0 ? DEFAULT_NUM_WANT : numWant;
  return Math.min(wanted, cap);
}

/**
 * Write up to `count` compact peers of the requester's family into `out` at `at`, never the requester itself;
 * returns the number of bytes written. The window starts at `offset` (something that varies per request) so
 * different requesters see different peers. No per-peer allocation: this is the reply's hot path.
 */
function sameBytes(a: Buffer, d: Buffer, at: number, len: number): boolean {
  if (a.length !== len) return false;
  for (let k = 0; k < len; k++) if (a[k] !== d[at + k]) return false;
  return true;
}

export function writePeers(
  store: SwarmStore,
  s: Swarm | undefined,
  family: 4 | 6,
  self: { ip: Buffer; port: number },
  count: number,
  offset: number,
  out: Buffer,
  at: number,
): number {
  const t = s ? (family === 4 ? s.v4 : s.v6) : null;
  if (!t || count <= 0 || t.count === 0) return 0;
  const p = family === 4 ? store.v4 : store.v6;
  const ipLen = p.ipLen;
  const stride = p.stride;
  const n = t.count;
  let slot = (offset >>> 0) % n;
  let written = 0;
  let pos = at;
  // The hottest loop of a reply: the slab and offset are found once per block of records (they are contiguous
  // inside it), no modulo per peer, the port read byte by byte.
  for (let seen = 0; seen < n && written < count; ) {
    if (slot === n) slot = 0;
    const block = t.blocks[Math.floor(slot / BLOCK)]!;
    const d = blockSlab(p, block);
    let rec = blockStart(p, block) + (slot % BLOCK) * stride;
    const end = Math.min(n, (Math.floor(slot / BLOCK) + 1) * BLOCK);
    for (; slot < end && seen < n && written < count; slot++, seen++, rec += stride) {
      const port = d[rec + OFF_PORT]! | (d[rec + OFF_PORT + 1]! << 8);
      if (port === self.port && sameBytes(self.ip, d, rec + OFF_IP, ipLen)) continue;
      // Byte by byte: for 4 or 16 bytes a loop beats Buffer.copy's call into C++ (a profile hot spot).
      const ip = rec + OFF_IP;
      if (ipLen === 4) {
        out[pos] = d[ip]!;
        out[pos + 1] = d[ip + 1]!;
        out[pos + 2] = d[ip + 2]!;
        out[pos + 3] = d[ip + 3]!;
      } else {
        for (let k = 0; k < ipLen; k++) out[pos + k] = d[ip + k]!;
      }
      out[pos + ipLen] = port >>> 8;
      out[pos + ipLen + 1] = port & 0xff;
      pos += ipLen + 2;
      written++;
    }
  }
  return pos - at;
}

/** The same selection as objects (tests, tools). */
export function selectPeers(
  store: SwarmStore,
  s: Swarm | undefined,
  family: 4 | 6,
  self: { ip: Buffer; port: number },
  count: number,
  offset: number,
): CompactPeer[] {
  const width = family === 4 ? 6 : 18;
  const buf = Buffer.alloc(Math.max(0, count) * width);
  const len = writePeers(store, s, family, self, count, offset, buf, 0);
  const peers: CompactPeer[] = [];
  for (let at = 0; at < len; at += width)
    peers.push({ ip: Buffer.from(buf.subarray(at, at + width - 2)), port: buf.readUInt16BE(at + width - 2) });
  return peers;
}

export function scrapeEntry(store: SwarmStore, infoHash: Buffer): ScrapeEntry {
  const s = getSwarm(store, infoHash);
  if (!s) return { seeders: 0, completed: 0, leechers: 0 };
  return { seeders: s.seeders, completed: s.completed, leechers: leechers(s) };
}

export function countPeers(store: SwarmStore): number {
  let n = 0;
  for (const s of store.swarms.values()) n += peerCount(s);
  return n;
}
