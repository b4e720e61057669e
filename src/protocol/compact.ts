/** BEP 23 compact peer lists: 6 bytes per IPv4 peer, 18 per IPv6 peer. Addresses are raw bytes. */
import { isIPv6 } from 'node:net';
import { COMPACT_V4_LEN, COMPACT_V6_LEN } from './constants.js';
import type { AddressFamily, CompactPeer } from './types.js';

export function encodeCompactPeers(peers: readonly CompactPeer[], family: AddressFamily): Buffer {
  const width = family === 4 ? COMPACT_V4_LEN : COMPACT_V6_LEN;
  const addrLen = width - 2;
  const out = Buffer.allocUnsafe(peers.length * width);
  peers.forEach((p, i) => {
    p.ip.copy(out, i * width, 0, addrLen);
    out.writeUInt16BE(p.port, i * width + addrLen);
  });
  return out;
}

export function decodeCompactPeers(buf: Buffer, family: AddressFamily): CompactPeer[] {
  const width = family === 4 ? COMPACT_V4_LEN : COMPACT_V6_LEN;
  const peers: CompactPeer[] = [];
  for (let at = 0; at + width <= buf.length; at += width) {
    peers.push({ ip: Buffer.from(buf.subarray(at, at + width - 2)), port: buf.readUInt16BE(at + width - 2) });
  }
  return peers;
}

/**
 * Parse a textual address into raw bytes and a family. IPv4-mapped IPv6 (::ffff:a.b.c.d, what a dual-stack
 * socket reports for IPv4 senders) is treated as IPv4 so those peers share the IPv4 swarm list.
 */
export function addressBytes(address: string): { family: AddressFamily; ip: Buffer } | undefined {
  // Runs for every datagram: IPv4 is read character by character (no regex, split or array per call).
  const v4 = ipv4Bytes(address, address.startsWith('::') && /^::ffff:/i.test(address) ? 7 : 0);
  if (v4) return { family: 4, ip: v4 };
  if (!isIPv6(address)) return undefined;
  return { family: 6, ip: ipv6Bytes(address) };
}

/** Dotted-quad IPv4 from `from` to the end of `s` (decimal, no leading zeros, each part ≤ 255), or undefined. */
function ipv4Bytes(s: string, from: number): Buffer | undefined {
  const out = Buffer.allocUnsafe(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part === 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return undefined;
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (part !== 3 || digits === 0) return undefined;
  out[3] = value;
  return out;
}

function ipv6Bytes(address: string): Buffer {
  const zoneless = address.split('%')[0]!;
  const [head, tail] = zoneless.includes('::') ? zoneless.split('::') : [zoneless, undefined];
  const parse = (s: string | undefined): number[] => {
    if (!s) return [];
    return s.split(':').flatMap((g) => {
      if (g.includes('.')) {
        const b = g.split('.').map(Number);
        return [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
      }
      return [parseInt(g, 16)];
    });
  };
  const h = parse(head);
  const t = parse(tail);
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  for (let i = 0; i < groups.length; i++) out.writeUInt16BE(groups[i]! & 0xffff, i * 2);
  return out;
}

/** Raw address bytes back to text (for logs, the UI and SQLite). */
export function addressText(ip: Buffer): string {
  if (ip.length === 4) return `${ip[0]}.${ip[1]}.${ip[2]}.${ip[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(ip.readUInt16BE(i).toString(16));
  return groups
    .join(':')
    .replace(/(^|:)0(:0)+(:|$)/, '::')
    .replace(/:{3,}/, '::');
}
