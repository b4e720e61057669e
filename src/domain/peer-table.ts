/**
 * Peers of one swarm and one address family, packed into one buffer of fixed-size records with an
 * open-addressing index (peer ID → slot). A peer costs its record (54 bytes for IPv4, 66 for IPv6) plus
 * 8–16 bytes of index, instead of the several hundred bytes of a JS object with Buffers and BigInts.
 * Records stay dense (swap-remove), so a random window of peers is read in O(numWant). Small swarms (most of
 * them) have no index at all: scanning up to SMALL records is as fast as hashing and saves an allocation.
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

export type PeerTable = {
  readonly ipLen: 4 | 16;
  readonly stride: number;
  data: Buffer;
  count: number;
  /** slot + 1, 0 = empty; its size is a power of two at least twice the capacity. Null while small. */
  index: Int32Array | null;
};

export function createPeerTable(ipLen: 4 | 16, capacity = 2): PeerTable {
  const stride = OFF_IP + ipLen;
  return { ipLen, stride, data: Buffer.alloc(capacity * stride), count: 0, index: null };
}

function indexSizeFor(capacity: number): number {
  let n = 4;
  while (n < capacity * 2) n <<= 1;
  return n;
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

export function findPeer(t: PeerTable, peerId: Buffer): number {
  const index = t.index;
  if (!index) {
    for (let slot = 0; slot < t.count; slot++) if (peerId.compare(t.data, slot * t.stride, slot * t.stride + ID_LEN) === 0) return slot;
    return -1;
  }
  const mask = index.length - 1;
  for (let i = hashId(peerId, 0) & mask; ; i = (i + 1) & mask) {
    const e = index[i]!;
    if (e === 0) return -1;
    const slot = e - 1;
    if (peerId.compare(t.data, slot * t.stride, slot * t.stride + ID_LEN) === 0) return slot;
  }
}

function rebuildIndex(t: PeerTable, capacity: number): void {
  if (capacity <= SMALL && t.count <= SMALL) {
    t.index = null;
    return;
  }
  t.index = new Int32Array(indexSizeFor(capacity));
  for (let s = 0; s < t.count; s++) indexInsert(t, s);
}

function indexInsert(t: PeerTable, slot: number): void {
  const index = t.index!;
  const mask = index.length - 1;
  let i = hashId(t.data, slot * t.stride) & mask;
  while (index[i] !== 0) i = (i + 1) & mask;
  index[i] = slot + 1;
}

/** Position in the index holding `slot`. */
function indexPos(t: PeerTable, slot: number): number {
  const index = t.index!;
  const mask = index.length - 1;
  let i = hashId(t.data, slot * t.stride) & mask;
  while (index[i] !== slot + 1) i = (i + 1) & mask;
  return i;
}

/** Backward-shift deletion keeps probe chains intact without tombstones. */
function indexDelete(t: PeerTable, pos: number): void {
  const index = t.index!;
  const mask = index.length - 1;
  let hole = pos;
  index[hole] = 0;
  for (let i = (hole + 1) & mask; index[i] !== 0; i = (i + 1) & mask) {
    const slot = index[i]! - 1;
    const home = hashId(t.data, slot * t.stride) & mask;
    // Move the entry into the hole unless its home lies cyclically in (hole, i].
    const between = hole <= i ? home > hole && home <= i : home > hole || home <= i;
    if (!between) {
      index[hole] = index[i]!;
      index[i] = 0;
      hole = i;
    }
  }
}

function grow(t: PeerTable): void {
  const capacity = Math.max(4, Math.ceil((t.data.length / t.stride) * 1.5));
  const data = Buffer.alloc(capacity * t.stride);
  t.data.copy(data, 0, 0, t.count * t.stride);
  t.data = data;
  if (capacity > SMALL && (!t.index || t.index.length < capacity * 2)) rebuildIndex(t, capacity);
}

/** Append a new peer's record (the caller fills the fields); returns its slot. */
export function addPeer(t: PeerTable, peerId: Buffer): number {
  if ((t.count + 1) * t.stride > t.data.length) grow(t);
  const slot = t.count++;
  peerId.copy(t.data, slot * t.stride, 0, ID_LEN);
  if (t.index) indexInsert(t, slot);
  return slot;
}

/** Remove by swapping the last record into the hole. */
export function removePeer(t: PeerTable, slot: number): void {
  const last = t.count - 1;
  if (t.index) {
    indexDelete(t, indexPos(t, slot));
    if (slot !== last) t.index[indexPos(t, last)] = slot + 1;
  }
  if (slot !== last) t.data.copy(t.data, slot * t.stride, last * t.stride, (last + 1) * t.stride);
  t.count--;
  // Give memory back when a swarm shrinks a lot (a flash crowd leaving).
  if (t.data.length > 64 * t.stride && t.count * 4 < t.data.length / t.stride) shrink(t);
}

function shrink(t: PeerTable): void {
  const capacity = Math.max(4, t.count * 2);
  const data = Buffer.alloc(capacity * t.stride);
  t.data.copy(data, 0, 0, t.count * t.stride);
  t.data = data;
  rebuildIndex(t, capacity);
}

export function isSeederAt(t: PeerTable, slot: number): boolean {
  const at = slot * t.stride + OFF_LEFT;
  return t.data.readUInt32LE(at) === 0 && t.data.readUInt32LE(at + 4) === 0;
}

export function seenAt(t: PeerTable, slot: number): number {
  return t.data.readUInt32LE(slot * t.stride + OFF_SEEN);
}
