/** Bencoded HTTP replies, read back with the project's own decoder: fields, compact layouts, dictionary model. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeBencode, type BDict, type BValue } from '../../src/torrent/bencode.js';
import { encodeBencode } from '../../src/http/bencode-encode.js';
import { announceReply, compactPeers, failureReply, scrapeReply, type ReplyPeer } from '../../src/http/replies.js';

function dict(body: Buffer): BDict {
  const r = decodeBencode(body);
  if (!r.ok) throw new Error(r.error);
  assert.is(r.end, body.length, 'nothing after the value');
  assert.ok(r.value instanceof Map, 'a dictionary');
  return r.value as BDict;
}
const get = (d: BDict, k: string): BValue => {
  assert.ok(d.has(k), `has ${k}`);
  return d.get(k)!;
};

const v4 = (a: number, b: number, c: number, d: number): Buffer => Buffer.from([a, b, c, d]);
const v6 = (last: number): Buffer => Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last]);
const mapped = (a: number, b: number, c: number, d: number): Buffer => Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d]);
const id = (n: number): Buffer => Buffer.alloc(20, n);

const PEERS: ReplyPeer[] = [
  { ip: v4(10, 0, 0, 1), port: 6881, peerId: id(1) },
  { ip: v6(2), port: 51413, peerId: id(2) },
  { ip: v4(192, 168, 1, 255), port: 1, peerId: id(0xff) },
  { ip: mapped(127, 0, 0, 1), port: 65535, peerId: id(3) },
];

test('encoder: canonical form, raw-byte key order, Buffers, integers', () => {
  const r = encodeBencode({ b: 1, a: [2n, 'x', Buffer.from([0, 255])], '': new Map<string | Buffer, never>() });
  assert.ok(r.ok);
  if (r.ok) assert.is(r.data.toString('latin1'), 'd0:de1:ali2e1:x2:\x00\xffe1:bi1ee');
  // keys compare as bytes, not as UTF-16 strings: 'é' (c3 a9) after 'z'
  const k = encodeBencode(
    new Map<string | Buffer, number>([
      ['é', 1],
      ['z', 2],
      [Buffer.from([0x00]), 3],
    ]),
  );
  assert.ok(k.ok && k.data.equals(Buffer.concat([Buffer.from('d1:\x00i3e1:zi2e2:', 'latin1'), Buffer.from('é'), Buffer.from('i1ee')])));
  assert.equal(encodeBencode(-42), { ok: true, data: Buffer.from('i-42e') });
  assert.equal(encodeBencode((1n << 64n) - 1n), { ok: true, data: Buffer.from('i18446744073709551615e') });
  assert.equal(encodeBencode(''), { ok: true, data: Buffer.from('0:') });
});

test('encoder: refusals are values', () => {
  assert.not.ok(encodeBencode(1.5).ok);
  assert.not.ok(encodeBencode(Number.NaN).ok);
  assert.not.ok(encodeBencode(2 ** 60).ok);
  assert.not.ok(
    encodeBencode(
      new Map<string | Buffer, number>([
        ['a', 1],
        [Buffer.from('a'), 2],
      ]),
    ).ok,
  );
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  const r = encodeBencode(cyclic as never);
  assert.ok(!r.ok && r.error.includes('nesting'));
});

test('announce, compact: peers 6 bytes each, peers6 18 bytes each, mapped IPv4 goes to peers', () => {
  const d = dict(announceReply({ interval: 1800, complete: 3, incomplete: 7, peers: PEERS, compact: true, noPeerId: false }));
  assert.is(get(d, 'interval'), 1800n);
  assert.is(get(d, 'complete'), 3n);
  assert.is(get(d, 'incomplete'), 7n);
  assert.not.ok(d.has('min interval'));
  const peers = get(d, 'peers') as Buffer;
  assert.is(peers.length, 3 * 6);
  assert.equal([...peers.subarray(0, 6)], [10, 0, 0, 1, 0x1a, 0xe1]);
  assert.equal([...peers.subarray(6, 12)], [192, 168, 1, 255, 0, 1]);
  assert.equal([...peers.subarray(12, 18)], [127, 0, 0, 1, 0xff, 0xff]);
  const peers6 = get(d, 'peers6') as Buffer;
  assert.is(peers6.length, 18);
  assert.ok(peers6.subarray(0, 16).equals(v6(2)));
  assert.is(peers6.readUInt16BE(16), 51413);
});

test('announce, compact: empty peers is present, peers6 absent without IPv6 peers; min interval', () => {
  const d = dict(announceReply({ interval: 60, minInterval: 30, complete: 0, incomplete: 0, peers: [], compact: true, noPeerId: false }));
  assert.is((get(d, 'peers') as Buffer).length, 0);
  assert.not.ok(d.has('peers6'));
  assert.is(get(d, 'min interval'), 30n);
  // keys in canonical order on the wire
  const body = announceReply({ interval: 60, complete: 1, incomplete: 2, peers: [], compact: true, noPeerId: false });
  assert.is(body.toString('latin1'), 'd8:completei1e10:incompletei2e8:intervali60e5:peers0:e');
});

test('announce, dictionary model: ip text, port, peer id; no_peer_id drops it', () => {
  const d = dict(announceReply({ interval: 900, complete: 1, incomplete: 1, peers: PEERS, compact: false, noPeerId: false }));
  const list = get(d, 'peers') as BValue[];
  assert.is(list.length, 4);
  const entries = list.map((p) => p as BDict);
  assert.is((entries[0]!.get('ip') as Buffer).toString(), '10.0.0.1');
  assert.is(entries[0]!.get('port'), 6881n);
  assert.ok((entries[0]!.get('peer id') as Buffer).equals(id(1)));
  assert.is((entries[1]!.get('ip') as Buffer).toString(), '2001:db8::2');
  assert.ok((entries[2]!.get('peer id') as Buffer).equals(id(0xff)));
  assert.is((entries[3]!.get('ip') as Buffer).toString(), '127.0.0.1');
  assert.not.ok(d.has('peers6'));

  const n = dict(announceReply({ interval: 900, complete: 1, incomplete: 1, peers: PEERS, compact: false, noPeerId: true }));
  for (const p of n.get('peers') as BValue[]) {
    assert.not.ok((p as BDict).has('peer id'));
    assert.ok((p as BDict).has('ip') && (p as BDict).has('port'));
  }
});

test('announce: unusable peers are skipped, a bad count becomes a failure reason', () => {
  const odd: ReplyPeer[] = [
    { ip: Buffer.from([1, 2, 3]), port: 1 },
    { ip: v4(1, 2, 3, 4), port: 70000 },
    { ip: v4(1, 2, 3, 4), port: 80 },
  ];
  assert.equal([...compactPeers(odd).v4], [1, 2, 3, 4, 0, 80]);
  const d = dict(announceReply({ interval: Number.NaN, complete: 0, incomplete: 0, peers: [], compact: true, noPeerId: false }));
  assert.ok((get(d, 'failure reason') as Buffer).toString().startsWith('internal error'));
});

test('scrape: files keyed by raw 20-byte hashes', () => {
  const h1 = Buffer.from(Array.from({ length: 20 }, (_, i) => 255 - i));
  const h2 = Buffer.alloc(20, 0);
  const d = dict(
    scrapeReply([
      { infoHash: h1, complete: 5, downloaded: 9, incomplete: 2 },
      { infoHash: h2, complete: 0, downloaded: 0, incomplete: 0 },
      { infoHash: Buffer.from(h1), complete: 5, downloaded: 9, incomplete: 2 },
    ]),
  );
  const files = get(d, 'files') as BDict;
  assert.is(files.size, 2);
  const f1 = files.get(h1.toString('latin1')) as BDict;
  assert.equal([f1.get('complete'), f1.get('downloaded'), f1.get('incomplete')], [5n, 9n, 2n]);
  const f2 = files.get(h2.toString('latin1')) as BDict;
  assert.is(f2.get('complete'), 0n);
  // no hashes: an empty files dict (BEP 48 still wants the key)
  assert.is(scrapeReply([]).toString(), 'd5:filesdee');
});

test('failure reply', () => {
  const d = dict(failureReply('missing info_hash'));
  assert.is((get(d, 'failure reason') as Buffer).toString(), 'missing info_hash');
  assert.is(d.size, 1);
  assert.is((get(dict(failureReply('ünïcode')), 'failure reason') as Buffer).toString(), 'ünïcode');
});

test.run();
