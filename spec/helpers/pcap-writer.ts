/**
 * Test-side writer of captures, to check the reader against every container, byte order and link type:
 * builds IPv4/IPv6 + UDP packets (or other protocols, to be skipped), wraps them in a link layer, and writes
 * classic pcap or pcapng. Deliberately independent of src/trace/pcap.ts.
 */
import { isIPv4 } from 'node:net';
import { addressBytes } from '../../src/protocol/compact.js';

export type Ep = { address: string; port: number };
export type Frame = { t: number; data: Buffer };

const ip = (a: string): Buffer => addressBytes(a)!.ip;

function checksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export type IpOptions = {
  /** IP protocol number; 17 (UDP) unless testing what is skipped. */
  proto?: number;
  /** IPv4: mark as a fragment (more-fragments flag). */
  fragment?: boolean;
  /** IPv6: put a hop-by-hop options header before UDP. */
  hopByHop?: boolean;
};

/** One IP packet carrying a UDP datagram from `src` to `dst` (the family follows the addresses). */
export function ipPacket(src: Ep, dst: Ep, payload: Buffer, o: IpOptions = {}): Buffer {
  const udp = Buffer.alloc(8 + payload.length);
  udp.writeUInt16BE(src.port, 0);
  udp.writeUInt16BE(dst.port, 2);
  udp.writeUInt16BE(udp.length, 4);
  payload.copy(udp, 8);
  const proto = o.proto ?? 17;
  if (isIPv4(src.address)) {
    const h = Buffer.alloc(20);
    h[0] = 0x45;
    h.writeUInt16BE(20 + udp.length, 2);
    h.writeUInt16BE(o.fragment ? 0x2000 : 0x4000, 6);
    h[8] = 64;
    h[9] = proto;
    ip(src.address).copy(h, 12);
    ip(dst.address).copy(h, 16);
    h.writeUInt16BE(checksum(h), 10);
    return Buffer.concat([h, udp]);
  }
  const ext = o.hopByHop ? Buffer.from([proto, 0, 1, 4, 0, 0, 0, 0]) : Buffer.alloc(0);
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(ext.length + udp.length, 4);
  h[6] = o.hopByHop ? 0 : proto;
  h[7] = 64;
  ip(src.address).copy(h, 8);
  ip(dst.address).copy(h, 24);
  return Buffer.concat([h, ext, udp]);
}

/** Wrap an IP packet (or any payload of `ethertype`) in link type `link`. */
export function linkFrame(link: number, packet: Buffer, o: { vlans?: number[]; ethertype?: number; nullLe?: boolean } = {}): Buffer {
  const v6 = packet[0]! >> 4 === 6;
  const ethertype = o.ethertype ?? (v6 ? 0x86dd : 0x0800);
  const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
  switch (link) {
    case 0: {
      const fam = Buffer.alloc(4);
      const af = v6 ? 30 : 2;
      if (o.nullLe ?? true) fam.writeUInt32LE(af);
      else fam.writeUInt32BE(af);
      return Buffer.concat([fam, packet]);
    }
    case 1: {
      const tags = (o.vlans ?? []).flatMap((tpid, i) => [u16(tpid), u16(100 + i)]);
      return Buffer.concat([Buffer.from('020000000001020000000002', 'hex'), ...tags, u16(ethertype), packet]);
    }
    case 113: {
      const h = Buffer.alloc(16);
      h.writeUInt16BE(0, 0); // to us
      h.writeUInt16BE(772, 2); // ARPHRD_LOOPBACK
      h.writeUInt16BE(6, 4);
      h.writeUInt16BE(ethertype, 14);
      return Buffer.concat([h, packet]);
    }
    case 276: {
      const h = Buffer.alloc(20);
      h.writeUInt16BE(ethertype, 0);
      h.writeUInt32BE(1, 4);
      h.writeUInt16BE(772, 8);
      h[11] = 6;
      return Buffer.concat([h, packet]);
    }
    default:
      return packet;
  }
}

type Order = { le: boolean };
const u32 = (v: number, o: Order): Buffer => {
  const b = Buffer.alloc(4);
  if (o.le) b.writeUInt32LE(v >>> 0);
  else b.writeUInt32BE(v >>> 0);
  return b;
};
const u16 = (v: number, o: Order): Buffer => {
  const b = Buffer.alloc(2);
  if (o.le) b.writeUInt16LE(v);
  else b.writeUInt16BE(v);
  return b;
};

/** Split seconds into whole seconds and a fraction in `units` per second, without float overflow. */
function stamp(t: number, units: number): [number, number] {
  const sec = Math.floor(t);
  return [sec, Math.round((t - sec) * units)];
}

export function writePcap(o: { le: boolean; nano: boolean; link: number }, frames: readonly Frame[]): Buffer {
  const header = Buffer.concat([
    u32(o.nano ? 0xa1b23c4d : 0xa1b2c3d4, o),
    u16(2, o),
    u16(4, o),
    u32(0, o),
    u32(0, o),
    u32(262144, o),
    u32(o.link, o),
  ]);
  const records = frames.map((f) => {
    const [sec, frac] = stamp(f.t, o.nano ? 1e9 : 1e6);
    return Buffer.concat([u32(sec, o), u32(frac, o), u32(f.data.length, o), u32(f.data.length, o), f.data]);
  });
  return Buffer.concat([header, ...records]);
}

export type NgIface = {
  link: number /** if_tsresol byte (default 6: microseconds). */;
  tsresol?: number;
  tsoffset?: bigint;
  snaplen?: number;
};
export type NgBlock =
  | { kind: 'epb'; iface: number; t: number; data: Buffer }
  | { kind: 'spb'; data: Buffer }
  | { kind: 'other'; type: number; body: Buffer };
export type NgSection = { le: boolean; ifaces: NgIface[]; blocks: NgBlock[] };

const pad4 = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);

function block(type: number, body: Buffer, o: Order): Buffer {
  const padded = pad4(body);
  const len = 12 + padded.length;
  return Buffer.concat([u32(type, o), u32(len, o), padded, u32(len, o)]);
}

function unitsOf(tsresol: number): number {
  return tsresol & 0x80 ? 2 ** (tsresol & 0x7f) : 10 ** tsresol;
}

export function writePcapng(sections: readonly NgSection[]): Buffer {
  const out: Buffer[] = [];
  for (const s of sections) {
    out.push(block(0x0a0d0d0a, Buffer.concat([u32(0x1a2b3c4d, s), u16(1, s), u16(0, s), Buffer.alloc(8, 0xff)]), s));
    for (const i of s.ifaces) {
      const opts: Buffer[] = [];
      if (i.tsresol !== undefined) opts.push(u16(9, s), u16(1, s), pad4(Buffer.from([i.tsresol])));
      if (i.tsoffset !== undefined) {
        const v = Buffer.alloc(8);
        if (s.le) v.writeBigInt64LE(i.tsoffset);
        else v.writeBigInt64BE(i.tsoffset);
        opts.push(u16(14, s), u16(8, s), v);
      }
      if (opts.length) opts.push(u16(0, s), u16(0, s));
      out.push(block(1, Buffer.concat([u16(i.link, s), u16(0, s), u32(i.snaplen ?? 262144, s), ...opts]), s));
    }
    for (const b of s.blocks) {
      if (b.kind === 'other') {
        out.push(block(b.type, b.body, s));
      } else if (b.kind === 'spb') {
        out.push(block(3, Buffer.concat([u32(b.data.length, s), b.data]), s));
      } else {
        const iface = s.ifaces[b.iface]!;
        const units = unitsOf(iface.tsresol ?? 6);
        const [sec, frac] = stamp(b.t - Number(iface.tsoffset ?? 0n), units);
        const ts = BigInt(sec) * BigInt(units) + BigInt(frac);
        out.push(
          block(
            6,
            Buffer.concat([
              u32(b.iface, s),
              u32(Number(ts >> 32n), s),
              u32(Number(ts & 0xffffffffn), s),
              u32(b.data.length, s),
              u32(b.data.length, s),
              b.data,
            ]),
            s,
          ),
        );
      }
    }
  }
  return Buffer.concat(out);
}
