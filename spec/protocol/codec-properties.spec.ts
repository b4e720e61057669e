/**
 * Property-based fuzzing of the BEP 15 codec (fast-check). Every property runs with a fixed seed so a failure
 * is reproducible; FC_SEED=<n> replays with another seed. Each test prints its run count and duration.
 *
 * The decoder is checked against an independent model of BEP 15 (`expectedKind`, literal wire offsets), not
 * against itself: any datagram must decode to exactly what the spec says, re-encode to the same bytes where
 * the encoding is canonical, and never throw.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { decodeRequest } from '../../src/protocol/decode.js';
import { decodeReply } from '../../src/protocol/decode-reply.js';
import {
  encodeAnnounceReply,
  encodeAnnounceRequest,
  encodeConnectReply,
  encodeConnectRequest,
  encodeErrorReply,
  encodeScrapeReply,
  encodeScrapeRequest,
  type AnnounceFields,
} from '../../src/protocol/encode.js';
import { addressBytes, decodeCompactPeers, encodeCompactPeers } from '../../src/protocol/compact.js';
import { isIPv4 } from 'node:net';
import { checkConnectionId, createConnectionIdCache, mintConnectionId, type ConnectionIdCheck } from '../../src/protocol/connection-id.js';
import type { EventCode } from '../../src/protocol/constants.js';
import type { AddressFamily, CompactPeer, Decoded, ScrapeEntry } from '../../src/protocol/types.js';

const SEED = Number(process.env.FC_SEED ?? 0x15bee);

/** Run a property with the fixed seed; print how many runs it took; fail the uvu test with fast-check's report. */
function holds<Ts>(label: string, property: fc.IProperty<Ts>, numRuns: number): void {
  const started = performance.now();
  const details = fc.check(property, { seed: SEED, numRuns });
  const ms = (performance.now() - started).toFixed(0);
  console.log(`\n    ${label}: ${details.numRuns} runs${details.numSkips ? ` (${details.numSkips} skipped)` : ''}, seed ${SEED}, ${ms} ms`);
  if (details.failed) throw new Error(fc.defaultReportMessage(details) ?? `${label} failed`);
}

// ---- arbitraries ----

const U32_MAX = 0xffffffff;
const U64_MAX = 0xffffffffffffffffn;
const MAGIC = 0x41727101980n;
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: U32_MAX });
const i32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
/** `size: 'max'` makes lengths span the whole range (fast-check's default keeps them near the minimum). */
const bytes = (minLength: number, maxLength = minLength): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ minLength, maxLength, size: 'max' }).map((b) => Buffer.from(b));
const hash = bytes(20);
/** Addresses from one integer each (cheaper than byte by byte, and biased to edge values such as 0.0.0.0 and ::1). */
const ipv4 = u32.map((n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
});
const ipv6 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map((n) => Buffer.from(n.toString(16).padStart(32, '0'), 'hex'));

const announceFields: fc.Arbitrary<AnnounceFields> = fc.record({
  connectionId: u64,
  transactionId: u32,
  infoHash: hash,
  peerId: hash,
  downloaded: u64,
  left: u64,
  uploaded: u64,
  event: fc.constantFrom<EventCode>(0, 1, 2, 3),
  ip: u32,
  key: u32,
  numWant: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 200 }), i32),
  port: u16,
});

/** Well-formed requests of every kind, as bytes (announces may carry BEP 41 option bytes). */
const validRequest: fc.Arbitrary<Buffer> = fc.oneof(
  u32.map((tid) => encodeConnectRequest(tid)),
  fc.tuple(announceFields, bytes(0, 64)).map(([a, opts]) => Buffer.concat([encodeAnnounceRequest(a), opts])),
  fc
    .tuple(u64, u32, fc.array(hash, { minLength: 1, maxLength: 74, size: 'max' }))
    .map(([cid, tid, hs]) => encodeScrapeRequest(cid, tid, hs)),
);

type Mutation =
  | { readonly t: 'truncate'; readonly at: number }
  | { readonly t: 'flip'; readonly at: number; readonly bit: number }
  | { readonly t: 'append'; readonly extra: Buffer }
  | { readonly t: 'hashes'; readonly n: number }
  | { readonly t: 'magic'; readonly id: bigint }
  | { readonly t: 'action'; readonly code: number }
  | { readonly t: 'u32'; readonly at: number; readonly value: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ t: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ t: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ t: fc.constant('append' as const), extra: bytes(1, 120) }),
  // Whole extra 20-byte hashes, to push a scrape past 74.
  fc.record({ t: fc.constant('hashes' as const), n: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ t: fc.constant('magic' as const), id: u64 }),
  fc.record({ t: fc.constant('action' as const), code: fc.oneof(fc.constantFrom(0, 1, 2, 3, 4), u32) }),
  // Overwrite any aligned u32 field (event, num_want, ...) with an edge value.
  fc.record({ t: fc.constant('u32' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(0, 3, 4, U32_MAX), u32) }),
);

function mutate(buf: Buffer, m: Mutation): Buffer {
  const out = Buffer.from(buf);
  switch (m.t) {
    case 'truncate':
      return out.subarray(0, buf.length === 0 ? 0 : m.at % buf.length);
    case 'flip':
      if (out.length > 0) out[m.at % out.length]! ^= 1 << m.bit;
      return out;
    case 'append':
      return Buffer.concat([out, m.extra]);
    case 'hashes':
      return Buffer.concat([out, Buffer.alloc(20 * m.n, 0x77)]);
    case 'magic':
      if (out.length >= 8) out.writeBigUInt64BE(m.id === MAGIC ? MAGIC + 1n : m.id, 0);
      return out;
    case 'action':
      if (out.length >= 12) out.writeUInt32BE(m.code, 8);
      return out;
    case 'u32': {
      const slots = Math.floor(out.length / 4);
      if (slots > 0) out.writeUInt32BE(m.value, (m.at % slots) * 4);
      return out;
    }
  }
}

/** Place bytes at a non-zero offset of a larger allocation, as a pooled receive buffer would be. */
function atOffset(b: Buffer, pad: number): Buffer {
  const pool = Buffer.alloc(pad + b.length, 0xee);
  b.copy(pool, pad);
  return pool.subarray(pad);
}

// ---- the model of BEP 15 request decoding ----

type Kind = 'ok' | 'reply' | 'drop';

/** What BEP 15 (and this tracker's documented policy) says a datagram is, from literal offsets only. */
function expectedKind(buf: Buffer): Kind {
  if (buf.length < 16) return 'drop';
  const action = buf.readUInt32BE(8);
  if (action === 0) return buf.readBigUInt64BE(0) === MAGIC ? 'ok' : 'drop';
  if (action === 1) return buf.length >= 98 && buf.readUInt32BE(80) <= 3 ? 'ok' : 'reply';
  if (action === 2) {
    const body = buf.length - 16;
    return body > 0 && body % 20 === 0 && body / 20 <= 74 ? 'ok' : 'reply';
  }
  return 'reply';
}

/** Everything that must hold of `decodeRequest(buf)`, whatever `buf` is. Returns a label for statistics. */
function verifyDecoded(buf: Buffer, d: Decoded): string {
  assert.type(d, 'object');
  assert.type(d.ok, 'boolean');
  const kind: Kind = d.ok ? 'ok' : d.error.kind;
  assert.is(kind, expectedKind(buf), `kind of a ${buf.length}-byte datagram`);

  if (!d.ok) {
    const e = d.error;
    if (e.kind === 'drop') {
      assert.equal(Object.keys(e).sort(), ['kind', 'reason']);
      assert.ok(typeof e.reason === 'string' && e.reason.length > 0, 'drop reason');
      return `drop: ${e.reason}`;
    }
    assert.equal(Object.keys(e).sort(), ['kind', 'message', 'transactionId']);
    assert.is(e.transactionId, buf.readUInt32BE(12), 'error carries the transaction ID');
    // Short printable ASCII: the ingress truncates it byte-wise to the request size before authentication.
    assert.ok(/^[\x20-\x7e]{1,100}$/.test(e.message), `error message ${JSON.stringify(e.message)}`);
    assert.equal(decodeReply(encodeErrorReply(e.transactionId, e.message)), {
      action: 'error',
      transactionId: e.transactionId,
      message: e.message,
    });
    return `reply: ${e.message}`;
  }

  const r = d.request;
  assert.is(r.transactionId, buf.readUInt32BE(12));
  switch (r.action) {
    case 'connect':
      assert.equal(Object.keys(r).sort(), ['action', 'transactionId']);
      // Bytes past 16 are ignored, so only the first 16 are canonical.
      assert.ok(encodeConnectRequest(r.transactionId).equals(buf.subarray(0, 16)), 'connect re-encodes to the same bytes');
      return 'ok: connect';
    case 'announce':
      assert.is(r.connectionId, buf.readBigUInt64BE(0));
      assert.ok(r.infoHash.equals(buf.subarray(16, 36)) && r.peerId.equals(buf.subarray(36, 56)));
      assert.equal([r.downloaded, r.left, r.uploaded], [buf.readBigUInt64BE(56), buf.readBigUInt64BE(64), buf.readBigUInt64BE(72)]);
      assert.ok(r.event >= 0 && r.event <= 3);
      assert.equal(
        [r.event, r.ip, r.key, r.numWant, r.port],
        [buf.readUInt32BE(80), buf.readUInt32BE(84), buf.readUInt32BE(88), buf.readInt32BE(92), buf.readUInt16BE(96)],
      );
      // BEP 41 options past byte 98 are ignored, so only the first 98 are canonical.
      assert.ok(encodeAnnounceRequest(r).equals(buf.subarray(0, 98)), 'announce re-encodes to the same 98 bytes');
      return 'ok: announce';
    case 'scrape':
      assert.is(r.connectionId, buf.readBigUInt64BE(0));
      assert.ok(r.infoHashes.length >= 1 && r.infoHashes.length <= 74);
      for (const [i, h] of r.infoHashes.entries()) assert.ok(h.equals(buf.subarray(16 + 20 * i, 36 + 20 * i)), `hash ${i}`);
      assert.ok(encodeScrapeRequest(r.connectionId, r.transactionId, r.infoHashes).equals(buf), 'scrape re-encodes to the same bytes');
      return 'ok: scrape';
  }
}

function decodeSafely(buf: Buffer): Decoded {
  try {
    return decodeRequest(buf);
  } catch (err) {
    throw new Error(`decodeRequest threw on ${buf.length} bytes ${buf.toString('hex')}: ${String(err)}`);
  }
}

function printStats(stats: Map<string, number>): void {
  const rows = [...stats].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`);
  console.log(`      outcomes: ${rows.join(', ')}`);
}

const kindsSeen = (stats: Map<string, number>): Set<string> => new Set([...stats.keys()].map((k) => k.split(':')[0]!));

// ---- decoding never throws and classifies every datagram as BEP 15 says ----

test('any byte array (0..2000 bytes) decodes to a valid request or a documented error value, never a throw', () => {
  const stats = new Map<string, number>();
  // Pure noise almost always reads as an unknown action, so also build datagrams with a chosen header.
  const header = fc
    .record({
      magic: fc.boolean(),
      id: u64,
      action: fc.oneof(fc.constantFrom(0, 1, 2, 3), u32),
      tid: u32,
      body: fc.oneof(
        bytes(0, 1984),
        fc.integer({ min: 0, max: 80 }).chain((n) => bytes(n * 20)),
      ),
    })
    .map(({ magic, id, action, tid, body }) => {
      const head = Buffer.alloc(16);
      head.writeBigUInt64BE(magic ? MAGIC : id, 0);
      head.writeUInt32BE(action, 8);
      head.writeUInt32BE(tid, 12);
      return Buffer.concat([head, body]);
    });
  const datagram = fc.oneof(bytes(0, 2000), bytes(0, 20), header);
  const lengths = new Map<string, number>();
  const bucket = (n: number): string => (n < 16 ? '<16' : n < 98 ? '16..97' : n < 1000 ? '98..999' : '1000..2000');
  holds(
    'arbitrary bytes',
    fc.property(datagram, fc.integer({ min: 0, max: 7 }), (b, pad) => {
      const label = verifyDecoded(b, decodeSafely(atOffset(b, pad)));
      stats.set(label, (stats.get(label) ?? 0) + 1);
      lengths.set(bucket(b.length), (lengths.get(bucket(b.length)) ?? 0) + 1);
    }),
    5000,
  );
  printStats(stats);
  console.log(`      lengths: ${[...lengths].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
  assert.is(lengths.size, 4, 'the generator reaches every length range');
  assert.equal([...kindsSeen(stats)].sort(), ['drop', 'ok', 'reply'], 'the generator reaches every outcome');
});

test('mutated valid requests (truncation, bit flips, appended bytes, wrong magic, action, fields) decode as BEP 15 says', () => {
  const stats = new Map<string, number>();
  holds(
    'mutated requests',
    fc.property(validRequest, fc.array(mutation, { minLength: 1, maxLength: 4 }), (valid, ms) => {
      const buf = ms.reduce(mutate, valid);
      const label = verifyDecoded(buf, decodeSafely(buf));
      stats.set(label, (stats.get(label) ?? 0) + 1);
    }),
    5000,
  );
  printStats(stats);
  assert.equal([...kindsSeen(stats)].sort(), ['drop', 'ok', 'reply'], 'the generator reaches every outcome');
  for (const m of ['unknown action', 'shorter than 98', 'event', 'whole number', 'without info hashes', 'too many']) {
    assert.ok(
      [...stats.keys()].some((k) => k.includes(m)),
      `the mutations reach "${m}"`,
    );
  }
});

test('decoded hashes and peer IDs are copies: reusing the receive buffer does not change them', () => {
  holds(
    'no aliasing',
    fc.property(validRequest, (buf) => {
      const d = decodeRequest(buf);
      assert.ok(d.ok);
      if (!d.ok) return;
      const before = JSON.stringify(d.request, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
      buf.fill(0x5a);
      assert.is(
        JSON.stringify(d.request, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
        before,
      );
    }),
    2000,
  );
});

// ---- request round trips ----

test('connect request: encode → decode → encode round-trips', () => {
  holds(
    'connect round trip',
    fc.property(u32, (tid) => {
      const buf = encodeConnectRequest(tid);
      assert.is(buf.length, 16);
      assert.is(buf.readBigUInt64BE(0), MAGIC);
      const d = decodeRequest(buf);
      assert.equal(d, { ok: true, request: { action: 'connect', transactionId: tid } });
      if (d.ok && d.request.action === 'connect') assert.ok(encodeConnectRequest(d.request.transactionId).equals(buf));
    }),
    5000,
  );
});

test('announce request: every field round-trips (u64 as BigInt, events 0..3, num_want), BEP 41 bytes ignored', () => {
  holds(
    'announce round trip',
    fc.property(announceFields, bytes(0, 300), (a, options) => {
      const bare = encodeAnnounceRequest(a);
      assert.is(bare.length, 98);
      // The wire layout of BEP 15, from literal offsets.
      assert.is(bare.readBigUInt64BE(0), a.connectionId);
      assert.is(bare.readUInt32BE(8), 1);
      assert.is(bare.readUInt32BE(12), a.transactionId);
      assert.is(bare.readBigUInt64BE(64), a.left);
      assert.is(bare.readInt32BE(92), a.numWant);
      assert.is(bare.readUInt16BE(96), a.port);
      const buf = Buffer.concat([bare, options]);
      const d = decodeRequest(buf);
      assert.equal(d, { ok: true, request: { action: 'announce', ...a } });
      if (d.ok && d.request.action === 'announce') assert.ok(encodeAnnounceRequest(d.request).equals(bare));
    }),
    5000,
  );
});

test('scrape request: 1..74 hashes round-trip in order', () => {
  holds(
    'scrape round trip',
    fc.property(u64, u32, fc.array(hash, { minLength: 1, maxLength: 74, size: 'max' }), (cid, tid, hashes) => {
      const buf = encodeScrapeRequest(cid, tid, hashes);
      assert.is(buf.length, 16 + 20 * hashes.length);
      const d = decodeRequest(buf);
      assert.equal(d, { ok: true, request: { action: 'scrape', connectionId: cid, transactionId: tid, infoHashes: hashes } });
      if (d.ok && d.request.action === 'scrape') {
        assert.ok(encodeScrapeRequest(d.request.connectionId, d.request.transactionId, d.request.infoHashes).equals(buf));
      }
    }),
    3000,
  );
});

test('scrape with 75+ hashes (up to a full 64 KiB datagram) is an error value with the transaction ID, not a crash', () => {
  const maxHashes = Math.floor((65_507 - 16) / 20);
  holds(
    'too many scrape hashes',
    fc.property(u64, u32, fc.integer({ min: 75, max: maxHashes }), fc.nat(255), (cid, tid, n, fill) => {
      const buf = encodeScrapeRequest(
        cid,
        tid,
        Array.from({ length: n }, (_, i) => Buffer.alloc(20, (fill + i) & 0xff)),
      );
      const d = decodeSafely(buf);
      assert.ok(!d.ok && d.error.kind === 'reply', `${n} hashes`);
      if (!d.ok && d.error.kind === 'reply') {
        assert.is(d.error.transactionId, tid);
        assert.match(d.error.message, /too many/);
      }
    }),
    2000,
  );
});

// ---- reply round trips ----

/** Leecher and seeder counts may exceed u32 in memory; the wire value is clamped. */
const count = fc.oneof(u32, fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));

test('announce replies with compact IPv4 (6 bytes/peer) and IPv6 (18 bytes/peer) peers round-trip through decodeReply', () => {
  const peers = (family: AddressFamily): fc.Arbitrary<CompactPeer[]> =>
    // Plain objects, as decodeCompactPeers returns (fast-check may otherwise build null-prototype records).
    fc.array(fc.record({ ip: family === 4 ? ipv4 : ipv6, port: u16 }, { noNullPrototype: true }), { maxLength: 200, size: 'max' });
  const reply = fc
    .constantFrom<AddressFamily>(4, 6)
    .chain((family) =>
      fc.record({ family: fc.constant(family), peers: peers(family), transactionId: u32, interval: u32, leechers: count, seeders: count }),
    );
  holds(
    'announce reply round trip',
    fc.property(reply, (r) => {
      const width = r.family === 4 ? 6 : 18;
      const compact = encodeCompactPeers(r.peers, r.family);
      assert.is(compact.length, r.peers.length * width);
      assert.equal(decodeCompactPeers(compact, r.family), r.peers);
      const wire = encodeAnnounceReply({ ...r, peers: compact });
      assert.is(wire.length, 20 + r.peers.length * width);
      const back = decodeReply(wire);
      assert.equal(back, {
        action: 'announce',
        transactionId: r.transactionId,
        interval: r.interval,
        leechers: Math.min(r.leechers, U32_MAX),
        seeders: Math.min(r.seeders, U32_MAX),
        peers: compact,
      });
      if (back.action === 'announce') assert.equal(decodeCompactPeers(back.peers, r.family), r.peers);
    }),
    3000,
  );
});

test('error replies carry the transaction ID and the message (any Unicode)', () => {
  holds(
    'error reply round trip',
    fc.property(u32, fc.string({ unit: 'binary', maxLength: 200, size: 'max' }), (tid, message) => {
      const wire = encodeErrorReply(tid, message);
      assert.is(wire.readUInt32BE(0), 3);
      assert.is(wire.length, 8 + Buffer.byteLength(message, 'utf8'));
      assert.equal(decodeReply(wire), { action: 'error', transactionId: tid, message });
    }),
    5000,
  );
});

test('connect and scrape replies round-trip through decodeReply', () => {
  const entry: fc.Arbitrary<ScrapeEntry> = fc.record({ seeders: count, completed: count, leechers: count });
  holds(
    'connect/scrape reply round trip',
    fc.property(u32, u64, fc.array(entry, { maxLength: 74, size: 'max' }), (tid, cid, entries) => {
      assert.equal(decodeReply(encodeConnectReply(tid, cid)), { action: 'connect', transactionId: tid, connectionId: cid });
      const clamp = (n: number): number => Math.min(n, U32_MAX);
      assert.equal(decodeReply(encodeScrapeReply(tid, entries)), {
        action: 'scrape',
        transactionId: tid,
        entries: entries.map((e) => ({ seeders: clamp(e.seeders), completed: clamp(e.completed), leechers: clamp(e.leechers) })),
      });
    }),
    3000,
  );
});

// ---- connection IDs (pure functions, explicit times) ----

const key = bytes(32); // the tracker's key is randomBytes(32)
const address = fc.oneof(ipv4, ipv6, bytes(4), bytes(16));
/** Mint times with room for ±300 s around them inside the u32-seconds stamp range. */
const mintAt = fc.integer({ min: 300_000, max: (U32_MAX - 300) * 1000 });
/** Check-time offsets, biased to the edges of the 120 s window. */
const offsetMs = fc.oneof(
  fc.integer({ min: -300_000, max: 300_000 }),
  fc.constantFrom(-1, 0, 999, 1000, 119_999, 120_000, 120_999, 121_000),
  fc.integer({ min: 118_000, max: 123_000 }),
);

function expectedCheck(mintedMs: number, nowMs: number): ConnectionIdCheck {
  const age = Math.floor(nowMs / 1000) - Math.floor(mintedMs / 1000);
  if (age < 0) return 'future';
  return age > 120 ? 'expired' : 'valid';
}

test('connection ID: verifies for the same address within 120 s; expired after, future before', () => {
  const stats = new Map<string, number>();
  holds(
    'connection ID window',
    fc.property(key, address, mintAt, offsetMs, (k, ip, t, dt) => {
      const id = mintConnectionId(k, t, ip);
      assert.is(Number(id >> 32n), Math.floor(t / 1000), 'the high 32 bits are the stamp in seconds');
      const want = expectedCheck(t, t + dt);
      stats.set(want, (stats.get(want) ?? 0) + 1);
      assert.is(checkConnectionId(k, t + dt, ip, id), want, `minted at ${t}, checked at ${t + dt}`);
      assert.is(checkConnectionId(Buffer.from(k), t + dt, Buffer.from(ip), id), want, 'copies of the key and address (another instance)');
    }),
    5000,
  );
  printStats(stats);
  assert.equal([...stats.keys()].sort(), ['expired', 'future', 'valid']);
});

test('connection ID: another address, another key or any changed bit is forged, at any time', () => {
  const case_ = fc.record({ k: key, k2: key, ip: address, ip2: address, t: mintAt, dt: offsetMs, mask: u64 });
  holds(
    'connection ID forgery',
    fc.property(case_, ({ k, k2, ip, ip2, t, dt, mask }) => {
      const id = mintConnectionId(k, t, ip);
      if (!ip2.equals(ip)) assert.is(checkConnectionId(k, t + dt, ip2, id), 'forged', 'another address');
      if (!k2.equals(k)) assert.is(checkConnectionId(k2, t + dt, ip, id), 'forged', 'another key');
      if (mask !== 0n) assert.is(checkConnectionId(k, t + dt, ip, id ^ mask), 'forged', `id ^ 0x${mask.toString(16)}`);
      // An ID re-stamped to look fresh without the key is forged too.
      const restamped = (BigInt(Math.floor((t + dt) / 1000)) << 32n) | (id & 0xffffffffn);
      if (restamped !== id) assert.is(checkConnectionId(k, t + dt, ip, restamped), 'forged', 'restamped');
    }),
    5000,
  );
});

test('connection ID cache answers exactly like the full check over any sequence of requests (one key)', () => {
  // Clients reuse an ID for many requests, so a step either mints a fresh ID or replays an earlier one.
  type Step = {
    readonly client: number;
    readonly reuse: number | null;
    readonly mintedBy: number;
    readonly mintAgo: number;
    readonly tamper: boolean;
    readonly advance: number;
  };
  const step: fc.Arbitrary<Step> = fc.record({
    // mintedBy -1: the ID was minted for the client that sends it (the common case).
    client: fc.nat(3),
    reuse: fc.option(fc.nat(), { freq: 2 }),
    mintedBy: fc.oneof({ arbitrary: fc.constant(-1), weight: 3 }, { arbitrary: fc.nat(3), weight: 1 }),
    mintAgo: fc.integer({ min: -5_000, max: 200_000 }),
    tamper: fc.nat(3).map((n) => n === 0),
    // The wall clock may step back (NTP), which is the only way a cached ID can become 'future'.
    advance: fc.integer({ min: -30_000, max: 60_000 }),
  });
  const stats = new Map<string, number>();
  holds(
    'connection ID cache',
    fc.property(
      key,
      fc.array(address, { minLength: 4, maxLength: 4 }),
      fc.array(step, { maxLength: 40, size: 'max' }),
      fc.nat(3),
      (k, ips, steps, capacity) => {
        const cache = createConnectionIdCache(capacity + 1);
        const minted: bigint[] = [];
        let now = 1_700_000_000_000;
        for (const s of steps) {
          now += s.advance;
          let id: bigint;
          if (s.reuse !== null && minted.length > 0) id = minted[s.reuse % minted.length]!;
          else {
            id = mintConnectionId(k, now - s.mintAgo, ips[s.mintedBy < 0 ? s.client : s.mintedBy]!) ^ (s.tamper ? 1n : 0n);
            minted.push(id);
          }
          const ip = ips[s.client]!;
          const want = checkConnectionId(k, now, ip, id);
          stats.set(want, (stats.get(want) ?? 0) + 1);
          assert.is(cache.check(k, now, ip, id), want, `step ${steps.indexOf(s)}`);
        }
      },
    ),
    2000,
  );
  printStats(stats);
});

test('sender addresses: every dotted quad (also IPv4-mapped) gives its 4 bytes; any other text agrees with node:net', () => {
  holds(
    'IPv4 sender address',
    fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.boolean(), (b, mapped) => {
      const text = `${mapped ? '::ffff:' : ''}${[...b].join('.')}`;
      const r = addressBytes(text);
      assert.is(r?.family, 4, text);
      assert.equal([...r!.ip], [...b], text);
    }),
    3000,
  );
  // Strings near the format: digits, dots, a few other characters, optionally the mapped prefix.
  const near = fc
    .tuple(fc.boolean(), fc.array(fc.constantFrom('0', '1', '2', '5', '9', '.', '.', ':', 'a', ' ', '-'), { maxLength: 16 }))
    .map(([mapped, cs]) => `${mapped ? '::ffff:' : ''}${cs.join('')}`);
  holds(
    'IPv4 parse agrees with node:net',
    fc.property(near, (text) => {
      const rest = text.startsWith('::ffff:') ? text.slice(7) : text;
      assert.is(addressBytes(text)?.family === 4, isIPv4(rest), text);
    }),
    5000,
  );
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1..2.3', '1.2.3.4 ', ' 1.2.3.4', '::ffff:', '::ffff:1.2.3']) {
    assert.not.ok(addressBytes(bad)?.family === 4, bad);
  }
  assert.is(addressBytes('::1')?.family, 6);
});

test.run();
