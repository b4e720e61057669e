/** The pcap/pcapng reader: the checked-in fixtures, every container × byte order × link type, and bad input. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { readPcap, type UdpPacket } from '../../src/trace/pcap.js';
import { decodeRequest } from '../../src/protocol/decode.js';
import { makeSyntheticTrace, SYNTHETIC } from '../../scripts/make-trace.js';
import { ipPacket, linkFrame, writePcap, writePcapng, type Ep, type Frame } from '../helpers/pcap-writer.js';
import { mutate, prng } from '../helpers/prng.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../../../spec/fixtures/${name}`, import.meta.url));

const read = (buf: Buffer): { packets: UdpPacket[]; skipped: number } => {
  const r = readPcap(buf);
  if (!r.ok) throw new Error(r.error);
  return r;
};

test('the libtorrent fixture: two real clients and the tracker on loopback, starting with a connect', () => {
  const r = read(fixture('libtorrent-session.pcap'));
  assert.is(r.packets.length, 18);
  assert.is(r.skipped, 0);
  const trackerPort = r.packets[0]!.dst.port;
  assert.ok(r.packets.every((p) => p.family === 4 && p.src.address === '127.0.0.1' && p.dst.address === '127.0.0.1'));
  assert.equal(new Set(r.packets.filter((p) => p.dst.port === trackerPort).map((p) => p.src.port)), new Set([26881, 26882]));
  const first = decodeRequest(r.packets[0]!.payload);
  assert.ok(first.ok && first.request.action === 'connect');
  assert.ok(r.packets.every((p, i) => i === 0 || p.t >= r.packets[i - 1]!.t));
});

test('the synthetic fixture is byte for byte what scripts/make-trace.ts writes, and reads back whole', () => {
  const made = makeSyntheticTrace();
  const bytes = fixture('synthetic-swarm.pcap');
  assert.ok(bytes.equals(made.pcap), 'regenerate with: node dist/scripts/make-trace.js');
  const r = read(bytes);
  assert.is(r.packets.length, made.requests + made.replies);
  assert.is(r.packets.filter((p) => p.dst.port === SYNTHETIC.tracker.port).length, made.requests);
  assert.is(new Set(r.packets.map((p) => p.src.address)).size, 21);
  assert.ok(Math.abs(r.packets[0]!.t - (SYNTHETIC.t0 + 0.0075)) < 1e-6);
});

// ---- round trips through the test writer ----

const T = 1_800_000_123.25;
const v4a: Ep = { address: '127.0.0.5', port: 40001 };
const v4b: Ep = { address: '10.1.2.3', port: 6969 };
const v6a: Ep = { address: '::1', port: 40002 };
const v6b: Ep = { address: 'fe80::1:2:3:4', port: 6969 };

type Case = { udp: UdpPacket[]; frames: Frame[]; skipped: number };

/** UDP datagrams of the families `link` can carry, and packets the reader must skip, interleaved. */
function traffic(link: number, vlans: number[] = []): Case {
  const fams = link === 228 ? [4] : link === 229 ? [6] : [4, 6];
  const udp: UdpPacket[] = [];
  const frames: Frame[] = [];
  let skipped = 0;
  let t = T;
  for (const fam of fams) {
    const [a, b] = fam === 4 ? [v4a, v4b] : [v6a, v6b];
    for (const [src, dst, payload] of [
      [a, b, Buffer.from('request')],
      [b, a, Buffer.alloc(300, 7)],
      [a, b, Buffer.alloc(0)],
    ] as const) {
      t += 0.001001;
      udp.push({ t, src, dst, family: fam as 4 | 6, payload });
      frames.push({ t, data: linkFrame(link, ipPacket(src, dst, payload), { vlans }) });
    }
    // TCP, and (IPv4) a fragment: skipped. IPv6 with a hop-by-hop header: still UDP.
    t += 0.001;
    frames.push({ t, data: linkFrame(link, ipPacket(a, b, Buffer.from('tcp'), { proto: 6 }), { vlans }) });
    skipped++;
    if (fam === 4) {
      t += 0.001;
      frames.push({ t, data: linkFrame(link, ipPacket(a, b, Buffer.from('frag'), { fragment: true }), { vlans }) });
      skipped++;
    } else {
      t += 0.001;
      udp.push({ t, src: a, dst: b, family: 6, payload: Buffer.from('hbh') });
      frames.push({ t, data: linkFrame(link, ipPacket(a, b, Buffer.from('hbh'), { hopByHop: true }), { vlans }) });
    }
  }
  if (link === 1 || link === 113 || link === 276) {
    t += 0.001;
    frames.push({ t, data: linkFrame(link, Buffer.alloc(28), { ethertype: 0x0806, vlans }) }); // ARP
    skipped++;
  }
  return { udp, frames, skipped };
}

function same(got: { packets: UdpPacket[]; skipped: number }, want: Case, label: string): void {
  assert.is(got.skipped, want.skipped, `${label}: skipped`);
  assert.is(got.packets.length, want.udp.length, `${label}: packets`);
  got.packets.forEach((p, i) => {
    const w = want.udp[i]!;
    assert.ok(Math.abs(p.t - w.t) < 2e-6, `${label}: time ${p.t} vs ${w.t}`);
    assert.equal({ ...p, t: 0 }, { ...w, t: 0 }, label);
  });
}

const LINKS = [0, 1, 101, 113, 228, 229, 276];

test('classic pcap, both byte orders, micro- and nanoseconds, every link type', () => {
  for (const le of [true, false]) {
    for (const nano of [false, true]) {
      for (const link of LINKS) {
        const c = traffic(link);
        same(read(writePcap({ le, nano, link }, c.frames)), c, `pcap le=${le} nano=${nano} link=${link}`);
      }
    }
  }
});

test('pcapng, both byte orders, every link type, several time resolutions', () => {
  for (const le of [true, false]) {
    for (const link of LINKS) {
      for (const tsresol of [undefined, 9, 3, 0x80 | 20]) {
        const c = traffic(link);
        const precise = tsresol === 3 ? c.frames.map((f) => ({ ...f, t: Math.round(f.t * 1000) / 1000 })) : c.frames;
        const want = tsresol === 3 ? { ...c, udp: c.udp.map((u) => ({ ...u, t: Math.round(u.t * 1000) / 1000 })) } : c;
        const buf = writePcapng([
          {
            le,
            ifaces: [{ link, ...(tsresol === undefined ? {} : { tsresol }) }],
            blocks: precise.map((f) => ({ kind: 'epb', iface: 0, ...f })),
          },
        ]);
        same(read(buf), want, `pcapng le=${le} link=${link} tsresol=${tsresol}`);
      }
    }
  }
});

test('Ethernet with 802.1Q and 802.1ad (QinQ) tags; BSD null link in either host byte order', () => {
  for (const vlans of [[0x8100], [0x88a8, 0x8100], [0x9100, 0x8100, 0x8100]]) {
    const c = traffic(1, vlans);
    same(read(writePcap({ le: true, nano: false, link: 1 }, c.frames)), c, `vlans ${vlans}`);
  }
  const big = { t: T, data: linkFrame(0, ipPacket(v4a, v4b, Buffer.from('x')), { nullLe: false }) };
  assert.is(read(writePcap({ le: true, nano: false, link: 0 }, [big])).packets.length, 1);
});

test('pcapng: interfaces with their own link types and resolutions, offsets, SPBs, foreign blocks, two sections', () => {
  const a = ipPacket(v4a, v4b, Buffer.from('eth'));
  const b = ipPacket(v6a, v6b, Buffer.from('sll2'));
  const buf = writePcapng([
    {
      le: true,
      ifaces: [{ link: 1 }, { link: 276, tsresol: 9 }, { link: 101, tsresol: 6, tsoffset: 1000n }],
      blocks: [
        { kind: 'other', type: 4, body: Buffer.alloc(8) }, // name resolution: ignored
        { kind: 'epb', iface: 0, t: T, data: linkFrame(1, a) },
        { kind: 'epb', iface: 1, t: T + 1.000000001, data: linkFrame(276, b) },
        { kind: 'spb', data: linkFrame(1, a) }, // no time stamp of its own: inherits T + 1.000000001
        { kind: 'epb', iface: 2, t: T + 2, data: a },
        { kind: 'other', type: 5, body: Buffer.alloc(20) }, // statistics
        { kind: 'other', type: 0x40000bad, body: Buffer.alloc(12) }, // custom
      ],
    },
    { le: false, ifaces: [{ link: 229, tsresol: 0x80 | 10 }], blocks: [{ kind: 'epb', iface: 0, t: T + 3.5, data: b }] },
  ]);
  const r = read(buf);
  assert.is(r.skipped, 0);
  assert.equal(
    r.packets.map((p) => p.payload.toString()),
    ['eth', 'sll2', 'eth', 'eth', 'sll2'],
  );
  assert.equal(
    r.packets.map((p) => p.family),
    [4, 6, 4, 4, 6],
  );
  const times = r.packets.map((p) => p.t - T);
  for (const [i, want] of [0, 1.000000001, 1.000000001, 2, 3.5].entries())
    assert.ok(Math.abs(times[i]! - want) < 1e-6, `packet ${i}: ${times[i]}`);
  assert.equal(r.packets[1]!.src, v6a);
  assert.equal(r.packets[1]!.dst, v6b);
});

// ---- bad input ----

function boundaries(frames: readonly Frame[], header: number, perRecord: (f: Frame) => number): number[] {
  const out = [header];
  for (const f of frames) out.push(out.at(-1)! + perRecord(f));
  return out;
}

test('a truncated file is an error value; a cut between records is a shorter valid file', () => {
  const c = traffic(1);
  const frames = c.frames.slice(0, 4);
  const pcap = writePcap({ le: false, nano: false, link: 1 }, frames);
  const ng = writePcapng([{ le: true, ifaces: [{ link: 1 }], blocks: frames.map((f) => ({ kind: 'epb', iface: 0, ...f })) }]);
  const cases: Array<[Buffer, number[]]> = [
    [pcap, boundaries(frames, 24, (f) => 16 + f.data.length)],
    [ng, [28, ...boundaries(frames, 28 + 20, (f) => 32 + Math.ceil(f.data.length / 4) * 4)]],
  ];
  for (const [buf, cuts] of cases) {
    assert.is(cuts.at(-1), buf.length);
    for (let n = 0; n < buf.length; n++) {
      const r = readPcap(buf.subarray(0, n));
      const k = cuts.indexOf(n);
      if (k >= 0) assert.ok(r.ok, `cut at ${n} is a record boundary`);
      else assert.ok(!r.ok && typeof r.error === 'string' && r.error.length > 0, `cut at ${n} must be an error`);
    }
  }
});

test('garbage is an error value with a reason', () => {
  const ok = writePcap({ le: true, nano: false, link: 1 }, traffic(1).frames);
  const ng = writePcapng([
    { le: true, ifaces: [{ link: 1 }], blocks: [{ kind: 'epb', iface: 0, t: T, data: traffic(1).frames[0]!.data }] },
  ]);
  const patched = (b: Buffer, at: number, v: number, le = true): Buffer => {
    const c = Buffer.from(b);
    if (le) c.writeUInt32LE(v, at);
    else c.writeUInt32BE(v, at);
    return c;
  };
  const bad: Array<[string, Buffer, RegExp]> = [
    ['empty', Buffer.alloc(0), /shorter than 4/],
    ['text', Buffer.from('GET / HTTP/1.1\r\n\r\n'), /not a pcap/],
    ['pcap version 3', patched(ok, 4, 3 | (4 << 16)), /version/],
    ['huge record', patched(ok, 24 + 8, 0xfffffff0), /implausible/],
    ['pcapng that starts with an IDB', ng.subarray(28), /not a pcap|section header/],
    ['bad byte-order magic', patched(ng, 8, 0x11223344), /byte-order/],
    ['block lengths disagree', patched(ng, ng.length - 4, 64), /disagree|truncated/],
    ['undeclared interface', patched(ng, 28 + 20 + 8, 3), /undeclared interface/],
    ['block length not a multiple of 4', patched(ng, 28 + 4, 21), /block length/],
  ];
  for (const [label, buf, re] of bad) {
    const r = readPcap(buf);
    assert.ok(!r.ok, label);
    if (!r.ok) assert.match(r.error, re, label);
  }
});

test('random bytes and random edits of valid files never throw', () => {
  const rnd = prng(0x9e3779b9);
  const seeds = [
    writePcap({ le: true, nano: false, link: 1 }, traffic(1).frames),
    writePcap({ le: false, nano: true, link: 276 }, traffic(276).frames),
    writePcapng([
      {
        le: false,
        ifaces: [{ link: 113, tsresol: 9 }, { link: 0 }],
        blocks: [
          ...traffic(113).frames.map((f) => ({ kind: 'epb' as const, iface: 0, ...f })),
          ...traffic(0).frames.map((f) => ({ kind: 'epb' as const, iface: 1, ...f })),
          { kind: 'spb' as const, data: traffic(113).frames[0]!.data },
        ],
      },
    ]),
  ];
  const magics = ['d4c3b2a1', 'a1b2c3d4', '4d3cb2a1', 'a1b23c4d', '0a0d0d0a'].map((h) => Buffer.from(h, 'hex'));
  let oks = 0;
  for (let i = 0; i < 3000; i++) {
    let buf: Buffer;
    if (i % 3 === 0) buf = rnd.bytes(rnd.int(200));
    else if (i % 3 === 1) buf = Buffer.concat([magics[rnd.int(magics.length)]!, rnd.bytes(rnd.int(300))]);
    else {
      buf = seeds[rnd.int(seeds.length)]!;
      for (let k = 1 + rnd.int(4); k > 0; k--) buf = mutate(buf, rnd);
    }
    let r: ReturnType<typeof readPcap> | undefined;
    try {
      r = readPcap(buf);
    } catch (e) {
      assert.unreachable(`threw on case ${i}: ${(e as Error).message}`);
    }
    assert.ok(r && (r.ok ? Array.isArray(r.packets) : typeof r.error === 'string'));
    if (r?.ok) oks++;
  }
  assert.ok(oks > 0, 'some edits (inside payloads) leave a valid file');
});

test.run();
