/**
 * The packed peer that the cluster wire form (bus/wire.ts) and the hand-over to the SQLite worker
 * (storage/effects-codec.ts) share; each appends its own fields after it. Little-endian:
 *   info hash 20 | peer ID 20 | address length u8 (4|16) | address | port u16 | uploaded u64 | downloaded u64 | left u64
 */
export type PeerFields = {
  readonly peerId: Buffer;
  readonly ip: Buffer;
  readonly port: number;
  readonly uploaded: bigint;
  readonly downloaded: bigint;
  readonly left: bigint;
};

export const peerFieldsLength = (ipLen: number): number => 20 + 20 + 1 + ipLen + 2 + 24;

/** Write the fields at `at`; returns the offset after them. */
export function writePeerFields(b: Buffer, at: number, infoHash: Buffer, p: PeerFields): number {
  at += infoHash.copy(b, at, 0, 20);
  at += p.peerId.copy(b, at, 0, 20);
  b[at++] = p.ip.length;
  at += p.ip.copy(b, at);
  at = b.writeUInt16LE(p.port, at);
  at = b.writeBigUInt64LE(p.uploaded, at);
  at = b.writeBigUInt64LE(p.downloaded, at);
  return b.writeBigUInt64LE(p.left, at);
}

/**
 * Read the fields at `at` (the caller has checked that they fit, address length included); the buffers are
 * views into `b`. `end` is the offset after them.
 */
export function readPeerFields(b: Buffer, at: number): PeerFields & { readonly infoHash: Buffer; readonly end: number } {
  const ipLen = b[at + 40]!;
  const ip = b.subarray(at + 41, at + 41 + ipLen);
  const n = at + 41 + ipLen;
  return {
    infoHash: b.subarray(at, at + 20),
    peerId: b.subarray(at + 20, at + 40),
    ip,
    port: b.readUInt16LE(n),
    uploaded: b.readBigUInt64LE(n + 2),
    downloaded: b.readBigUInt64LE(n + 10),
    left: b.readBigUInt64LE(n + 18),
    end: n + 26,
  };
}
