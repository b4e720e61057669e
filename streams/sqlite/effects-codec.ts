/**
 * Row effects packed into one buffer, to hand a committed batch to the SQLite worker thread in a single
 * transferable message (structured cloning of thousands of small objects with BigInts would cost more than
 * the write itself). Pure; `unpack` is the exact inverse of `pack`.
 */
import type { PeerState, RowEffect, Swarm } from '../../src/domain/types.js';
import { peerFieldsLength, readPeerFields, writePeerFields } from '../../src/domain/peer-fields.js';

const PEER_UPSERT = 1;
const PEER_DELETE = 2;
const TORRENT_UPSERT = 3;
const TORRENT_DELETE = 4;

/** What the worker needs of a torrent row (the Swarm object itself stays on the main thread). */
export type TorrentRow = { infoHash: Buffer; name: string | null; size: bigint | null; completed: number };
export type PackedEffect =
  | { kind: 'peer-upsert'; infoHash: Buffer; peer: PeerState }
  | { kind: 'peer-delete'; infoHash: Buffer; peerId: Buffer }
  | { kind: 'torrent-upsert'; swarm: TorrentRow }
  | { kind: 'torrent-delete'; infoHash: Buffer };

function sizeOf(e: RowEffect): number {
  switch (e.kind) {
    case 'peer-upsert':
      return 1 + peerFieldsLength(e.peer.ip.length) + 8;
    case 'peer-delete':
      return 1 + 20 + 20;
    case 'torrent-upsert':
      return 1 + 20 + 4 + 1 + 8 + 4 + Buffer.byteLength(e.swarm.name ?? '');
    case 'torrent-delete':
      return 1 + 20;
  }
}

export function pack(effects: readonly RowEffect[]): Buffer {
  let total = 0;
  for (const e of effects) total += sizeOf(e);
  const b = Buffer.allocUnsafe(total);
  let at = 0;
  for (const e of effects) {
    switch (e.kind) {
      case 'peer-upsert': {
        b[at++] = PEER_UPSERT;
        at = writePeerFields(b, at, e.infoHash, e.peer);
        at = b.writeDoubleLE(e.peer.lastSeen, at);
        break;
      }
      case 'peer-delete':
        b[at++] = PEER_DELETE;
        at += e.infoHash.copy(b, at, 0, 20);
        at += e.peerId.copy(b, at, 0, 20);
        break;
      case 'torrent-upsert': {
        const s: Swarm = e.swarm;
        b[at++] = TORRENT_UPSERT;
        at += s.infoHash.copy(b, at, 0, 20);
        at = b.writeUInt32LE(s.completed >>> 0, at);
        b[at++] = s.size === null ? 0 : 1;
        at = b.writeBigUInt64LE(s.size ?? 0n, at);
        const name = s.name === null ? null : Buffer.from(s.name, 'utf8');
        at = b.writeInt32LE(name ? name.length : -1, at);
        if (name) at += name.copy(b, at);
        break;
      }
      case 'torrent-delete':
        b[at++] = TORRENT_DELETE;
        at += e.infoHash.copy(b, at, 0, 20);
        break;
    }
  }
  return b;
}

export function unpack(b: Buffer): PackedEffect[] {
  const out: PackedEffect[] = [];
  let at = 0;
  const take = (n: number): Buffer => {
    const v = b.subarray(at, at + n);
    at += n;
    return v;
  };
  while (at < b.length) {
    const kind = b[at++];
    if (kind === PEER_UPSERT) {
      const { infoHash, end, ...fields } = readPeerFields(b, at);
      out.push({ kind: 'peer-upsert', infoHash, peer: { ...fields, lastSeen: b.readDoubleLE(end) } });
      at = end + 8;
      continue;
    }
    const infoHash = take(20);
    if (kind === PEER_DELETE) {
      out.push({ kind: 'peer-delete', infoHash, peerId: take(20) });
    } else if (kind === TORRENT_UPSERT) {
      const completed = b.readUInt32LE(at);
      const hasSize = b[at + 4] === 1;
      const size = b.readBigUInt64LE(at + 5);
      const nameLen = b.readInt32LE(at + 13);
      at += 17;
      const name = nameLen < 0 ? null : take(nameLen).toString('utf8');
      out.push({ kind: 'torrent-upsert', swarm: { infoHash, name, size: hasSize ? size : null, completed } });
    } else {
      out.push({ kind: 'torrent-delete', infoHash });
    }
  }
  return out;
}
