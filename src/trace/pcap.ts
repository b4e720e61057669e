/**
 * Pure reader of packet captures: classic pcap (either byte order, micro- or nanosecond stamps) and pcapng
 * (SHB/IDB/EPB/SPB, per-interface link type and timestamp resolution), keeping the UDP datagrams over IPv4/IPv6.
 * Bytes in, a value out: no I/O, never throws.
 *
 * Why our own reader: the npm readers found (2026-11) do not fit. `pcap` binds native libpcap for live capture;
 * `pcap-parser` reads only classic pcap, is event-driven over streams and unchanged for 14 years;
 * `pcap-ng-parser` reads only pcapng, only Ethernet, also as a stream. The formats are small and fixed, so a
 * pure reader that can be fuzzed is less code than adapting any of them.
 *
 * Counted in `skipped`: anything but UDP, packets on other link types, IP fragments and packets cut short by
 * the snapshot length (their UDP payload is incomplete). Checksums are not verified: loopback captures carry
 * offloaded, unfilled ones.
 */
import { addressText } from '../protocol/compact.js';

export type TraceEndpoint = { readonly address: string; readonly port: number };
export type UdpPacket = {
  /** Seconds since the epoch (fractional), as stamped by the capture. */
  readonly t: number;
  readonly src: TraceEndpoint;
  readonly dst: TraceEndpoint;
  readonly family: 4 | 6;
  readonly payload: Buffer;
};
export type PcapRead = { ok: true; packets: UdpPacket[]; skipped: number } | { ok: false; error: string };

/** Link types (tcpdump.org/linktypes.html). */
export const LinkType = { null: 0, ethernet: 1, raw: 101, sll: 113, ipv4: 228, ipv6: 229, sll2: 276 } as const;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const BLOCK = { idb: 1, packet: 2, spb: 3, epb: 6 } as const;
/** Far above any real snapshot length: a larger record length means the file is not what it claims. */
const MAX_RECORD = 1 << 24;

type Reader = { u16(at: number): number; u32(at: number): number; i64(at: number): bigint };
const reader = (buf: Buffer, le: boolean): Reader => ({
  u16: (at) => (le ? buf.readUInt16LE(at) : buf.readUInt16BE(at)),
  u32: (at) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at)),
  i64: (at) => (le ? buf.readBigInt64LE(at) : buf.readBigInt64BE(at)),
});

type Sink = { packets: UdpPacket[]; skipped: number };
const fail = (error: string): PcapRead => ({ ok: false, error });

export function readPcap(buf: Buffer): PcapRead {
  // Every read below is bounds-checked first; the catch only turns a bug of ours into an error value.
  try {
    if (buf.length < 4) return fail('not a capture file: shorter than 4 bytes');
    const be = buf.readUInt32BE(0);
    const le = buf.readUInt32LE(0);
    if (be === PCAPNG_SHB) return readPcapng(buf);
    if (be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS) return readClassic(buf, false, be === PCAP_MAGIC_NS);
    if (le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS) return readClassic(buf, true, le === PCAP_MAGIC_NS);
    return fail(`not a pcap or pcapng file (magic 0x${be.toString(16).padStart(8, '0')})`);
  } catch (e) {
    return fail(`unreadable capture: ${(e as Error).message}`);
  }
}

function readClassic(buf: Buffer, le: boolean, nano: boolean): PcapRead {
  if (buf.length < 24) return fail('truncated pcap file header');
  const r = reader(buf, le);
  if (r.u16(4) !== 2) return fail(`unsupported pcap version ${r.u16(4)}.${r.u16(6)}`);
  // The upper bits of the link-type field may carry FCS information; the type is the low 16 bits.
  const link = r.u32(20) & 0xffff;
  const out: Sink = { packets: [], skipped: 0 };
  for (let at = 24; at < buf.length; ) {
    if (at + 16 > buf.length) return fail(`truncated pcap record header at byte ${at}`);
    const caplen = r.u32(at + 8);
    if (caplen > MAX_RECORD) return fail(`implausible pcap record length ${caplen} at byte ${at}`);
    if (at + 16 + caplen > buf.length) return fail(`truncated pcap record at byte ${at}`);
    const t = r.u32(at) + r.u32(at + 4) / (nano ? 1e9 : 1e6);
    take(out, link, t, buf.subarray(at + 16, at + 16 + caplen));
    at += 16 + caplen;
  }
  return { ok: true, ...out };
}

type Iface = { link: number; units: bigint; offsetS: number; snaplen: number };

function readPcapng(buf: Buffer): PcapRead {
  const out: Sink = { packets: [], skipped: 0 };
  let r: Reader | null = null;
  let ifaces: Iface[] = [];
  // A Simple Packet Block carries no time stamp: it inherits the last one seen, so order is kept.
  let lastT = 0;
  for (let at = 0; at < buf.length; ) {
    if (at + 12 > buf.length) return fail(`truncated pcapng block at byte ${at}`);
    const type = buf.readUInt32BE(at);
    if (type === PCAPNG_SHB) {
      // A new section may switch byte order; its interfaces start afresh.
      if (at + 28 > buf.length) return fail(`truncated section header at byte ${at}`);
      const bom = buf.readUInt32BE(at + 8);
      if (bom !== PCAPNG_BOM && buf.readUInt32LE(at + 8) !== PCAPNG_BOM) return fail(`bad byte-order magic at byte ${at}`);
      r = reader(buf, bom !== PCAPNG_BOM);
      if (r.u32(at + 4) < 28) return fail(`short section header at byte ${at}`);
      if (r.u16(at + 12) !== 1) return fail(`unsupported pcapng version ${r.u16(at + 12)} at byte ${at}`);
      ifaces = [];
    }
    if (!r) return fail('pcapng file does not start with a section header');
    const len = r.u32(at + 4);
    if (len < 12 || len % 4 !== 0 || len > MAX_RECORD) return fail(`bad pcapng block length ${len} at byte ${at}`);
    if (at + len > buf.length) return fail(`truncated pcapng block at byte ${at}`);
    if (r.u32(at + len - 4) !== len) return fail(`pcapng block lengths disagree at byte ${at}`);
    const bodyEnd = at + len - 4;
    const blockType = r.u32(at);
    if (blockType === BLOCK.idb) {
      if (len < 20) return fail(`short interface block at byte ${at}`);
      const opts = readIdbOptions(buf, r, at + 16, bodyEnd);
      if (!opts) return fail(`bad interface block options at byte ${at}`);
      ifaces.push({ link: r.u16(at + 8), snaplen: r.u32(at + 12), ...opts });
    } else if (blockType === BLOCK.epb || blockType === BLOCK.packet) {
      if (len < 32) return fail(`short packet block at byte ${at}`);
      // The obsolete Packet Block has a 16-bit interface ID and a drop count; the layout is otherwise the EPB's.
      const iface = ifaces[blockType === BLOCK.epb ? r.u32(at + 8) : r.u16(at + 8)];
      if (!iface) return fail(`packet block for an undeclared interface at byte ${at}`);
      const caplen = r.u32(at + 20);
      if (at + 28 + caplen > bodyEnd) return fail(`packet block data overruns its block at byte ${at}`);
      const ts = (BigInt(r.u32(at + 12)) << 32n) | BigInt(r.u32(at + 16));
      lastT = Number(ts / iface.units) + Number(ts % iface.units) / Number(iface.units) + iface.offsetS;
      take(out, iface.link, lastT, buf.subarray(at + 28, at + 28 + caplen));
    } else if (blockType === BLOCK.spb) {
      if (len < 16) return fail(`short simple packet block at byte ${at}`);
      const iface = ifaces[0];
      if (!iface) return fail(`simple packet block without an interface at byte ${at}`);
      const orig = r.u32(at + 8);
      const caplen = Math.min(orig, bodyEnd - (at + 12), iface.snaplen || orig);
      take(out, iface.link, lastT, buf.subarray(at + 12, at + 12 + caplen));
    }
    // Other blocks (name resolution, statistics, custom, ...) say nothing about the datagrams.
    at += len;
  }
  if (!r) return fail('empty pcapng file');
  return { ok: true, ...out };
}

/** if_tsresol (9) and if_tsoffset (14); null when an option runs past its block. */
function readIdbOptions(buf: Buffer, r: Reader, from: number, end: number): { units: bigint; offsetS: number } | null {
  let units = 1_000_000n;
  let offsetS = 0;
  for (let at = from; at + 4 <= end; ) {
    const code = r.u16(at);
    const len = r.u16(at + 2);
    if (code === 0) break;
    if (at + 4 + len > end) return null;
    if (code === 9 && len >= 1) {
      const v = buf[at + 4]!;
      units = v & 0x80 ? 1n << BigInt(v & 0x7f) : 10n ** BigInt(v);
    } else if (code === 14 && len >= 8) {
      // Signed 64-bit seconds added to every stamp of the interface.
      offsetS = Number(r.i64(at + 4));
    }
    at += 4 + ((len + 3) & ~3);
  }
  return { units, offsetS };
}

/** Find the IP header under the link layer; anything else is skipped. */
function take(out: Sink, link: number, t: number, frame: Buffer): void {
  const p = decodeLink(link, frame);
  const udp = p ? decodeIp(p) : null;
  if (!udp) {
    out.skipped++;
    return;
  }
  out.packets.push({ t, ...udp });
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const VLAN_TAGS = new Set([0x8100, 0x88a8, 0x9100]);
/** AF_INET and the AF_INET6 values of Linux (10), NetBSD/OpenBSD (24), FreeBSD (28) and Darwin (30). */
const NULL_FAMILIES = new Set([2, 10, 24, 28, 30]);

function decodeLink(link: number, f: Buffer): Buffer | null {
  switch (link) {
    case LinkType.null: {
      // The family word is in the capturing host's byte order, which the file does not record.
      if (f.length < 4) return null;
      return NULL_FAMILIES.has(f.readUInt32LE(0)) || NULL_FAMILIES.has(f.readUInt32BE(0)) ? f.subarray(4) : null;
    }
    case LinkType.ethernet: {
      let at = 12;
      while (at + 2 <= f.length && VLAN_TAGS.has(f.readUInt16BE(at))) at += 4;
      if (at + 2 > f.length) return null;
      return byEthertype(f.readUInt16BE(at), f.subarray(at + 2));
    }
    case LinkType.sll:
      return f.length < 16 ? null : byEthertype(f.readUInt16BE(14), f.subarray(16));
    case LinkType.sll2:
      return f.length < 20 ? null : byEthertype(f.readUInt16BE(0), f.subarray(20));
    case LinkType.raw:
    case LinkType.ipv4:
    case LinkType.ipv6:
      return f;
    default:
      return null;
  }
}

const byEthertype = (type: number, rest: Buffer): Buffer | null => (type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6 ? rest : null);

type Udp = Omit<UdpPacket, 't'>;
const UDP = 17;

function decodeIp(p: Buffer): Udp | null {
  if (p.length < 1) return null;
  const version = p[0]! >> 4;
  if (version === 4) {
    if (p.length < 20) return null;
    const ihl = (p[0]! & 0x0f) * 4;
    const total = p.readUInt16BE(2);
    if (ihl < 20 || total < ihl || total > p.length) return null;
    if (p.readUInt16BE(6) & 0x3fff) return null; // a fragment (more-fragments flag or an offset)
    if (p[9] !== UDP) return null;
    return decodeUdp(p, ihl, total, 4, p.subarray(12, 16), p.subarray(16, 20));
  }
  if (version === 6) {
    if (p.length < 40) return null;
    const end = 40 + p.readUInt16BE(4);
    if (end === 40 || end > p.length) return null; // a jumbogram or cut short
    let next = p[6]!;
    let at = 40;
    // Hop-by-hop, routing and destination options: (n + 1) × 8 bytes; AH: (n + 2) × 4. A fragment header: skip.
    while (next === 0 || next === 43 || next === 60 || next === 51) {
      if (at + 2 > end) return null;
      const size = next === 51 ? (p[at + 1]! + 2) * 4 : (p[at + 1]! + 1) * 8;
      next = p[at]!;
      at += size;
    }
    if (next !== UDP) return null;
    return decodeUdp(p, at, end, 6, p.subarray(8, 24), p.subarray(24, 40));
  }
  return null;
}

function decodeUdp(p: Buffer, at: number, end: number, family: 4 | 6, src: Buffer, dst: Buffer): Udp | null {
  if (at + 8 > end) return null;
  const len = p.readUInt16BE(at + 4);
  if (len < 8 || at + len > end) return null;
  return {
    src: { address: addressText(src), port: p.readUInt16BE(at) },
    dst: { address: addressText(dst), port: p.readUInt16BE(at + 2) },
    family,
    payload: Buffer.from(p.subarray(at + 8, at + len)),
  };
}
