/**
 * Changes ↔ their wire form: one base64 string of packed binary records per message. A PREPARE of a few
 * thousand announces is parsed by every Slave and carried by the broker, so it is packed (79 bytes per IPv4
 * announce, against about 200 as JSON with hex fields) and decoded without a JSON object per change. Decoding checks
 * every length and field: anything truncated, trailing or out of range gives null, never a partial list.
 *
 * Records, little-endian:
 *   announce  1 | the packed peer of domain/peer-fields.ts | event u8 (0-3) | at u48 (ms)
 *   expire    2 | before u48 (ms)
 *   torrent   3 | info hash 20 | flags u8 (1 name, 2 size, 4 completed) | [name length u16 | UTF-8]
 *             | [size u64] | [completed u32]
 */
import type { Change } from '../domain/types.js';
import type { EventCode } from '../protocol/constants.js';
import { peerFieldsLength, readPeerFields, writePeerFields } from '../domain/peer-fields.js';

const ANNOUNCE = 1;
const EXPIRE = 2;
const TORRENT = 3;
const HAS_NAME = 1;
const HAS_SIZE = 2;
const HAS_COMPLETED = 4;

function recordLength(c: Change): number {
  switch (c.kind) {
    case 'announce':
      return 1 + peerFieldsLength(c.ip.length) + 1 + 6;
    case 'expire':
      return 7;
    case 'torrent':
      return 22 + (c.name === null ? 0 : 2 + Buffer.byteLength(c.name)) + (c.size === null ? 0 : 8) + (c.completed === undefined ? 0 : 4);
  }
}

/** Pack changes into one base64 string. Values outside the format (a name over 64 KiB) are the caller's bug. */
export function encodeChanges(changes: readonly Change[]): string {
  return packChanges(changes).toString('base64');
}

/** The binary records themselves (the round log keeps these: a third smaller than base64). */
export function packChanges(changes: readonly Change[]): Buffer {
  let total = 0;
  for (const c of changes) total += recordLength(c);
  const b = Buffer.allocUnsafe(total);
  let at = 0;
  for (const c of changes) {
    switch (c.kind) {
      case 'announce':
        b[at++] = ANNOUNCE;
        at = writePeerFields(b, at, c.infoHash, c);
        b[at++] = c.event;
        at = b.writeUIntLE(c.at, at, 6);
        break;
      case 'expire':
        b[at++] = EXPIRE;
        at = b.writeUIntLE(c.before, at, 6);
        break;
      case 'torrent': {
        b[at++] = TORRENT;
        at += c.infoHash.copy(b, at, 0, 20);
        b[at++] = (c.name === null ? 0 : HAS_NAME) | (c.size === null ? 0 : HAS_SIZE) | (c.completed === undefined ? 0 : HAS_COMPLETED);
        if (c.name !== null) {
          const len = b.write(c.name, at + 2, 'utf8');
          b.writeUInt16LE(len, at);
          at += 2 + len;
        }
        if (c.size !== null) at = b.writeBigUInt64LE(c.size, at);
        if (c.completed !== undefined) at = b.writeUInt32LE(c.completed, at);
        break;
      }
    }
  }
  return b;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The changes of a wire string, or null when it is not exactly a list of valid records. */
export function decodeChanges(text: unknown): Change[] | null {
  return decodePacked(text)?.changes ?? null;
}

/** The same, with the packed records themselves (the round log keeps those). */
export function decodePacked(text: unknown): { readonly packed: Buffer; readonly changes: Change[] } | null {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !BASE64.test(text)) return null;
  const packed = Buffer.from(text, 'base64');
  const changes = unpackChanges(packed);
  return changes ? { packed, changes } : null;
}

/** The changes of packed records, or null when they are not exactly a list of valid records. */
export function unpackChanges(b: Buffer): Change[] | null {
  const out: Change[] = [];
  let at = 0;
  const need = (n: number): boolean => at + n <= b.length;
  const take = (n: number): Buffer => {
    const s = Buffer.from(b.subarray(at, at + n)); // a copy: the read model keeps IDs, not the whole message
    at += n;
    return s;
  };
  while (at < b.length) {
    const tag = b[at++];
    if (tag === ANNOUNCE) {
      if (!need(41)) return null;
      const ipLen = b[at + 40]!;
      if ((ipLen !== 4 && ipLen !== 16) || !need(peerFieldsLength(ipLen) + 1 + 6)) return null;
      const f = readPeerFields(b, at);
      const event = b[f.end]!;
      const when = b.readUIntLE(f.end + 1, 6);
      at = f.end + 7;
      if (event > 3) return null;
      // Copies: the read model keeps IDs and addresses, not the whole message.
      out.push({
        kind: 'announce',
        infoHash: Buffer.from(f.infoHash),
        peerId: Buffer.from(f.peerId),
        ip: Buffer.from(f.ip),
        port: f.port,
        uploaded: f.uploaded,
        downloaded: f.downloaded,
        left: f.left,
        event: event as EventCode,
        at: when,
      });
    } else if (tag === EXPIRE) {
      if (!need(6)) return null;
      out.push({ kind: 'expire', before: b.readUIntLE(at, 6) });
      at += 6;
    } else if (tag === TORRENT) {
      if (!need(21)) return null;
      const infoHash = take(20);
      const flags = b[at++]!;
      if (flags > 7) return null;
      let name: string | null = null;
      let size: bigint | null = null;
      let completed: number | undefined;
      if (flags & HAS_NAME) {
        if (!need(2) || !need(2 + b.readUInt16LE(at))) return null;
        const len = b.readUInt16LE(at);
        name = b.toString('utf8', at + 2, at + 2 + len);
        at += 2 + len;
      }
      if (flags & HAS_SIZE) {
        if (!need(8)) return null;
        size = b.readBigUInt64LE(at);
        at += 8;
      }
      if (flags & HAS_COMPLETED) {
        if (!need(4)) return null;
        completed = b.readUInt32LE(at);
        at += 4;
      }
      out.push({ kind: 'torrent', infoHash, name, size, ...(completed === undefined ? {} : { completed }) });
    } else {
      return null;
    }
  }
  return out;
}
