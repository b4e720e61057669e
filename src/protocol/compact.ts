/** BEP 23 compact peer lists: 6 bytes per IPv4 peer, 18 per IPv6 peer. Addresses are raw bytes. */
import { isIPv4, isIPv6 } from 'node:net';
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
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const v4 = mapped ? mapped[1]! : address;
  if (isIPv4(v4)) return { family: 4, ip: Buffer.from(v4.split('.').map(Number)) };
  if (!isIPv6(address)) return undefined;
  return { family: 6, ip: ipv6Bytes(address) };
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
  groups.forEach((g, i) => out.writeUInt16BE(g & 0xffff, i * 2));
  return out;
}

/** Raw address bytes back to text (for logs, the UI and SQLite). */
export function addressText(ip: Buffer): string {
  if (ip.length === 4) return `${ip[0]}.${ip[1]}.${ip[2]}.${ip[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(ip.readUInt16BE(i).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::');
}
