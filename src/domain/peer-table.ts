/**
 * Peers of one swarm and one address family, packed into fixed-size records (54 bytes for IPv4, 66 for IPv6)
 * that live in blocks of BLOCK records drawn from a pool shared by every swarm of the store. A swarm holds only
 * the list of its block numbers: no buffer of its own, so no per-swarm allocation churn as it grows or shrinks,
 * and a freed block serves the next swarm that needs one. Records stay dense (swap-remove), so a random window
 * of peers is read in O(numWant). Swarms above SMALL peers get an open-addressing index (peer ID → slot);
 * smaller ones are scanned, which is as fast and costs nothing.
 *
 * Record: peer ID (20) | port u16 | last seen u32 seconds | uploaded u64 | downloaded u64 | left u64 | address.
 */
export const OFF_PORT = 20;
export const OFF_SEEN = 22;
export const OFF_UP = 26;
export const OFF_DOWN = 34;
export const OFF_LEFT = 42;
export const OFF_IP = 50;
const ID_LEN = 20;
const SMALL = 16;
/** Records per block: the records of a block are contiguous in one slab. */
export const BLOCK = 4;
const SLAB_BLOCKS = 4096;

export type PeerPool = {
  readonly ipLen: 4 | 16;
  readonly stride: number;
  readonly blockBytes: number;
  readonly slabs: Buffer[];
  /** Freed block numbers, reused first. */
  readonly free: number[];
  /** Blocks ever handed out. */
  used: number;
};

export type PeerTable = {
  /** Block numbers in the pool, in slot order. */
  blocks: number[];
  count: number;
  /** slot + 1, 0 = empty; a power of two at least twice the count. Null while small. */
  index: Int32Array | null;
};

export function createPeerPool(ipLen: 4 | 16): PeerPool {
  const stride = OFF_IP + ipLen;
  return { ipLen, stride, blockBytes: stride * BLOCK, slabs: [], free: [], used: 0 };
}

export function createPeerTable(): PeerTable {
  return { blocks: [], count: 0, index: null };
}

/** The slab holding block `block` of the pool, and the block's first byte in it. */
export const blockSlab = (p: PeerPool, block: number): Buffer => p.slabs[block >>> 12]!;
export const blockStart = (p: PeerPool, block: number): number => (block & (SLAB_BLOCKS - 1)) * p.blockBytes;

/** The slab holding `slot`, and the record's byte offset in it. */
export function slabOf(p: PeerPool, t: PeerTable, slot: number): Buffer {
  return p.slabs[t.blocks[slot >>> 2]! >>> 12]!;
}
export function offsetOf(p: PeerPool, t: PeerTable, slot: number): number {
  return (t.blocks[slot >>> 2]! & (SLAB_BLOCKS - 1)) * p.blockBytes + (slot & (BLOCK - 1)) * p.stride;
}

function allocBlock(p: PeerPool): number {
  const reused = p.free.pop();
  if (reused !== undefined) return reused;
  const id = p.used++;
  if (id >>> 12 >= p.slabs.length) p.slabs.push(Buffer.alloc(SLAB_BLOCKS * p.blockBytes));
  return id;
}

/** Peer IDs share client prefixes (-qB4650-); mix the whole ID so the index spreads anyway. */
function hashId(b: Buffer, at: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < ID_LEN; i += 4) {
    h = Math.imul(h ^ b.readUInt32LE(at + i), 0x01000193);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

const hashSlot = (p: PeerPool, t: PeerTable, slot: number): number => hashId(slabOf(p, t, slot), offsetOf(p, t, slot));
const idAt = (p: PeerPool, t: PeerTable, slot: number, peerId: Buffer): boolean => {
  const off = offsetOf(p, t, slot);
  return peerId.compare(slabOf(p, t, slot), off, off + ID_LEN) === 0;
};

export function findPeer(p: PeerPool, t: PeerTable, peerId: Buffer): number {
  const index = t.index;
  if (!index) {
    for (let slot = 0; slot < t.count; slot++) if (idAt(p, t, slot, peerId)) return slot;
    return -1;
  }
  const mask = index.length - 1;
  for (let i = hashId(peerId, 0) & mask; ; i = (i + 1) & mask) {
    const e = index[i]!;
    if (e === 0) return -1;
    if (idAt(p, t, e - 1, peerId)) return e - 1;
  }
}

function rebuildIndex(p: PeerPool, t: PeerTable): void {
  if (t.count <= SMALL) {
    t.index = null;
    return;
  }
  let n = 4;
  while (n < t.count * 3) n <<= 1; // grown to 2/3 of this before the next rebuild: load stays ≤ 2/3
  t.index = new Int32Array(n);
  for (let s = 0; s < t.count; s++) indexInsert(p, t, s);
}

function indexInsert(p: PeerPool, t: PeerTable, slot: number): void {
  const index = t.index!;
  const mask = index.length - 1;
  let i = hashSlot(p, t, slot) & mask;
  while (index[i] !== 0) i = (i + 1) & mask;
  index[i] = slot + 1;
}

function indexPos(p: PeerPool, t: PeerTable, slot: number): number {
  const index = t.index!;
  const mask = index.length - 1;
  let i = hashSlot(p, t, slot) & mask;
  while (index[i] !== slot + 1) i = (i + 1) & mask;
  return i;
}

/** Backward-shift deletion keeps probe chains intact without tombstones. */
function indexDelete(p: PeerPool, t: PeerTable, pos: number): void {
  const index = t.index!;
  const mask = index.length - 1;
  let hole = pos;
  index[hole] = 0;
  for (let i = (hole + 1) & mask; index[i] !== 0; i = (i + 1) & mask) {
    const home = hashSlot(p, t, index[i]! - 1) & mask;
    // Move the entry into the hole unless its home lies cyclically in (hole, i].
    const between = hole <= i ? home > hole && home <= i : home > hole || home <= i;
    if (!between) {
      index[hole] = index[i]!;
      index[i] = 0;
      hole = i;
    }
  }
}

/** Append a new peer's record (the caller fills the fields); returns its slot. */
export function addPeer(p: PeerPool, t: PeerTable, peerId: Buffer): number {
  const slot = t.count;
  if ((slot & (BLOCK - 1)) === 0) {
    // Small lists are copied to their exact length: a push (or a spread literal) would reserve room for 17
    // elements at once, 136 bytes more per swarm; concat allocates exactly.
    if (t.blocks.length < 32) t.blocks = t.blocks.concat(allocBlock(p));
    else t.blocks.push(allocBlock(p));
  }
  t.count++;
  peerId.copy(slabOf(p, t, slot), offsetOf(p, t, slot), 0, ID_LEN);
  if (t.index && t.count * 3 > t.index.length * 2) rebuildIndex(p, t);
  else if (t.index) indexInsert(p, t, slot);
  else if (t.count > SMALL) rebuildIndex(p, t);
  return slot;
}

/** Remove by moving the last record into the hole; an emptied last block goes back to the pool. */
export function removePeer(p: PeerPool, t: PeerTable, slot: number): void {
  const last = t.count - 1;
  if (t.index) {
    indexDelete(p, t, indexPos(p, t, slot));
    if (slot !== last) t.index[indexPos(p, t, last)] = slot + 1;
  }
  if (slot !== last) {
    const from = offsetOf(p, t, last);
    slabOf(p, t, last).copy(slabOf(p, t, slot), offsetOf(p, t, slot), from, from + p.stride);
  }
  t.count--;
  if ((t.count & (BLOCK - 1)) === 0) p.free.push(t.blocks.pop()!);
  // A swarm that shrank a lot (a flash crowd leaving) gets a smaller index, or none.
  if (t.index && t.count * 8 < t.index.length) rebuildIndex(p, t);
}

/** Give every block back (the swarm is dropped). */
export function releaseTable(p: PeerPool, t: PeerTable): void {
  for (const b of t.blocks) p.free.push(b);
  t.blocks.length = 0;
  t.count = 0;
  t.index = null;
}

export function isSeederAt(p: PeerPool, t: PeerTable, slot: number): boolean {
  const buf = slabOf(p, t, slot);
  const at = offsetOf(p, t, slot) + OFF_LEFT;
  return buf.readUInt32LE(at) === 0 && buf.readUInt32LE(at + 4) === 0;
}

export function seenAt(p: PeerPool, t: PeerTable, slot: number): number {
  return slabOf(p, t, slot).readUInt32LE(offsetOf(p, t, slot) + OFF_SEEN);
}
