/** Changes ↔ their JSON-safe wire form (hex bytes, decimal u64). Decoding checks every field: errors as null. */
import type { Change } from '../domain/types.js';
import type { EventCode } from '../protocol/constants.js';
import type { WireChange } from './messages.js';

export function toWire(c: Change): WireChange {
  switch (c.kind) {
    case 'announce':
      return {
        k: 'a', ih: c.infoHash.toString('hex'), pid: c.peerId.toString('hex'), ip: c.ip.toString('hex'), port: c.port,
        up: c.uploaded.toString(), down: c.downloaded.toString(), left: c.left.toString(), ev: c.event, at: c.at,
      };
    case 'expire':
      return { k: 'x', before: c.before };
    case 'torrent':
      return {
        k: 't', ih: c.infoHash.toString('hex'), name: c.name, size: c.size === null ? null : c.size.toString(),
        ...(c.completed === undefined ? {} : { completed: c.completed }),
      };
  }
}

const HEX40 = /^[0-9a-f]{40}$/;
const U64 = /^\d{1,20}$/;
const isInt = (v: unknown, max = Number.MAX_SAFE_INTEGER): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;
const u64 = (v: unknown): bigint | null => (typeof v === 'string' && U64.test(v) && BigInt(v) < 1n << 64n ? BigInt(v) : null);

export function fromWire(w: unknown): Change | null {
  if (typeof w !== 'object' || w === null) return null;
  const o = w as Record<string, unknown>;
  switch (o.k) {
    case 'a': {
      const [up, down, left] = [u64(o.up), u64(o.down), u64(o.left)];
      if (typeof o.ih !== 'string' || !HEX40.test(o.ih) || typeof o.pid !== 'string' || !HEX40.test(o.pid)) return null;
      if (typeof o.ip !== 'string' || !/^([0-9a-f]{8}|[0-9a-f]{32})$/.test(o.ip)) return null;
      if (!isInt(o.port, 65535) || !isInt(o.ev, 3) || !isInt(o.at) || up === null || down === null || left === null) return null;
      return {
        kind: 'announce', infoHash: Buffer.from(o.ih, 'hex'), peerId: Buffer.from(o.pid, 'hex'), ip: Buffer.from(o.ip, 'hex'),
        port: o.port, uploaded: up, downloaded: down, left, event: o.ev as EventCode, at: o.at,
      };
    }
    case 'x':
      return isInt(o.before) ? { kind: 'expire', before: o.before } : null;
    case 't': {
      if (typeof o.ih !== 'string' || !HEX40.test(o.ih)) return null;
      if (o.name !== null && typeof o.name !== 'string') return null;
      const size = o.size === null ? null : u64(o.size);
      if (o.size !== null && size === null) return null;
      if (o.completed !== undefined && !isInt(o.completed)) return null;
      return {
        kind: 'torrent', infoHash: Buffer.from(o.ih, 'hex'), name: o.name as string | null, size,
        ...(o.completed === undefined ? {} : { completed: o.completed as number }),
      };
    }
    default:
      return null;
  }
}

export function changesFromWire(list: unknown): Change[] | null {
  if (!Array.isArray(list)) return null;
  const out: Change[] = [];
  for (const w of list) {
    const c = fromWire(w);
    if (!c) return null;
    out.push(c);
  }
  return out;
}
