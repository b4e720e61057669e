/** The packed wire form of changes: exact round trips, and every malformed string refused as a whole. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { decodeChanges, encodeChanges } from '../../src/bus/wire.js';
import type { AnnounceChange, Change, ExpireChange, TorrentChange } from '../../src/domain/types.js';
import type { EventCode } from '../../src/protocol/constants.js';

const U64_MAX = (1n << 64n) - 1n;
const v4: AnnounceChange = {
  kind: 'announce',
  infoHash: Buffer.alloc(20, 0x11),
  peerId: Buffer.from('-qB4650-abcdefghijkl'),
  ip: Buffer.from([192, 168, 1, 20]),
  port: 51413,
  uploaded: 123n,
  downloaded: 456n,
  left: 789n,
  event: 2,
  at: 1_700_000_000_123,
};
const v6max: AnnounceChange = {
  kind: 'announce',
  infoHash: Buffer.alloc(20, 0xff),
  peerId: Buffer.alloc(20, 0),
  ip: Buffer.from('20010db8000000000000ff0000428329', 'hex'),
  port: 65535,
  uploaded: U64_MAX,
  downloaded: U64_MAX,
  left: U64_MAX,
  event: 3,
  at: 2 ** 48 - 1,
};
const v6zero: AnnounceChange = { ...v6max, ip: Buffer.alloc(16, 0), port: 0, uploaded: 0n, downloaded: 0n, left: 0n, event: 0, at: 0 };
const expire: ExpireChange = { kind: 'expire', before: 1_700_000_000_000 };
const torrentFull: TorrentChange = {
  kind: 'torrent',
  infoHash: Buffer.alloc(20, 0x42),
  name: 'Ubuntu 24.04 — “desktop”.iso',
  size: U64_MAX,
  completed: 77,
};
const torrentBare: TorrentChange = { kind: 'torrent', infoHash: Buffer.alloc(20, 0x43), name: null, size: null };
const torrentZero: TorrentChange = { kind: 'torrent', infoHash: Buffer.alloc(20, 0x44), name: '', size: 0n, completed: 0 };
const ALL: Change[] = [
  v4,
  v6max,
  v6zero,
  { ...v4, event: 1 },
  expire,
  { kind: 'expire', before: 0 },
  torrentFull,
  torrentBare,
  torrentZero,
];

test('every change kind survives the wire unchanged (u64 max, IPv6, all events, names in UTF-8)', () => {
  for (const c of ALL) assert.equal(decodeChanges(encodeChanges([c])), [c], c.kind);
  assert.equal(decodeChanges(JSON.parse(JSON.stringify(encodeChanges(ALL)))), ALL);
  assert.equal(decodeChanges(encodeChanges([])), []);
  assert.not.ok('completed' in decodeChanges(encodeChanges([torrentBare]))![0]!, 'an unknown completed count stays unknown');
});

test('an announce takes 79 bytes (IPv4, 91 for IPv6) on the wire, against about 200 as JSON with hex fields', () => {
  assert.is(Buffer.from(encodeChanges([v4]), 'base64').length, 79);
  assert.is(Buffer.from(encodeChanges([v6max]), 'base64').length, 91);
});

test('every truncation of a valid list is refused, never read as a shorter list', () => {
  const b = Buffer.from(encodeChanges(ALL), 'base64');
  const ends = new Set<number>();
  let at = 0;
  for (const c of ALL) {
    at += Buffer.from(encodeChanges([c]), 'base64').length;
    ends.add(at);
  }
  for (let n = 1; n < b.length; n++) {
    const r = decodeChanges(b.subarray(0, n).toString('base64'));
    if (ends.has(n)) assert.ok(r, `cut at a record boundary ${n}`);
    else assert.is(r, null, `cut at ${n}`);
  }
});

test('unknown kinds, bad address lengths, events above 3 and unknown torrent flags are refused', () => {
  const one = (c: Change): Buffer => Buffer.from(encodeChanges([c]), 'base64');
  const mutate = (b: Buffer, at: number, v: number): string => {
    const c = Buffer.from(b);
    c[at] = v;
    return c.toString('base64');
  };
  const a = one(v4);
  for (const kind of [0, 4, 255]) assert.is(decodeChanges(mutate(a, 0, kind)), null, `kind ${kind}`);
  for (const len of [0, 5, 6, 15, 17]) assert.is(decodeChanges(mutate(a, 41, len)), null, `address length ${len}`);
  assert.is(decodeChanges(mutate(a, 41 + 1 + 4 + 2 + 24, 4)), null, 'event 4');
  const t = one(torrentBare);
  for (const flags of [8, 16, 255]) assert.is(decodeChanges(mutate(t, 21, flags)), null, `flags ${flags}`);
  // a name length pointing past the end
  const named = Buffer.from(one(torrentFull));
  named.writeUInt16LE(60_000, 22);
  assert.is(decodeChanges(named.toString('base64')), null, 'name longer than the message');
});

test('anything but a well-formed base64 string is refused', () => {
  for (const v of [null, undefined, 5, [], {}, ['AQ=='], 'not base64', 'AQ', 'A===', '====', 'AQ==AQ==', ' AQID', 'AQID\n']) {
    assert.is(decodeChanges(v), null, JSON.stringify(v));
  }
});

test('random strings and bytes never throw; whatever decodes re-encodes to the same bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const text = Buffer.from(bytes).toString('base64');
      const r = decodeChanges(text);
      if (r) assert.is(encodeChanges(r), text);
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.string(), (s) => {
      decodeChanges(s);
    }),
    { numRuns: 2000 },
  );
});

const announceArb: fc.Arbitrary<Change> = fc
  .record({
    infoHash: fc.uint8Array({ minLength: 20, maxLength: 20 }),
    peerId: fc.uint8Array({ minLength: 20, maxLength: 20 }),
    ip: fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 })),
    port: fc.integer({ min: 0, max: 65535 }),
    up: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    down: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    left: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    event: fc.integer({ min: 0, max: 3 }),
    at: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
  })
  .map((r) => ({
    kind: 'announce' as const,
    infoHash: Buffer.from(r.infoHash),
    peerId: Buffer.from(r.peerId),
    ip: Buffer.from(r.ip),
    port: r.port,
    uploaded: r.up,
    downloaded: r.down,
    left: r.left,
    event: r.event as EventCode,
    at: r.at,
  }));
const torrentArb: fc.Arbitrary<Change> = fc
  .record({
    infoHash: fc.uint8Array({ minLength: 20, maxLength: 20 }),
    name: fc.option(fc.string({ unit: 'binary', maxLength: 80 })),
    size: fc.option(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
    completed: fc.option(fc.integer({ min: 0, max: 2 ** 32 - 1 })),
  })
  .map((r) => ({
    kind: 'torrent' as const,
    infoHash: Buffer.from(r.infoHash),
    name: r.name,
    size: r.size,
    ...(r.completed === null ? {} : { completed: r.completed }),
  }));

test('generated lists of changes round-trip exactly', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          announceArb,
          torrentArb,
          fc.nat().map((before): Change => ({ kind: 'expire', before })),
        ),
        { maxLength: 20 },
      ),
      (changes) => {
        assert.equal(decodeChanges(encodeChanges(changes)), changes);
      },
    ),
    { numRuns: 1000 },
  );
});

test.run();
