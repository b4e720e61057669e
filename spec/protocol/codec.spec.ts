import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
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
} from '../../src/protocol/encode.js';
import { addressBytes, addressText, decodeCompactPeers, encodeCompactPeers } from '../../src/protocol/compact.js';
import { PROTOCOL_ID } from '../../src/protocol/constants.js';

const announce = {
  connectionId: 0x0123456789abcdefn,
  transactionId: 0xdeadbeef,
  infoHash: Buffer.alloc(20, 0xaa),
  peerId: Buffer.alloc(20, 0xbb),
  downloaded: 0xffffffffffffffffn,
  left: 1n << 40n,
  uploaded: 7n,
  event: 2 as const,
  ip: 0x01020304,
  key: 42,
  numWant: -1,
  port: 6881,
};

test('connect request round-trips', () => {
  const d = decodeRequest(encodeConnectRequest(0x80000001));
  assert.equal(d, { ok: true, request: { action: 'connect', transactionId: 0x80000001 } });
});

test('announce request round-trips every field, u64 as BigInt', () => {
  const d = decodeRequest(encodeAnnounceRequest(announce));
  assert.ok(d.ok);
  assert.equal(d.ok && d.request, { action: 'announce', ...announce });
});

test('announce with BEP 41 option bytes after 98 is accepted', () => {
  const buf = Buffer.concat([encodeAnnounceRequest(announce), Buffer.from([0x2, 0x5, 0x2f, 0x61, 0x6e, 0x6e, 0x6f, 0x0])]);
  const d = decodeRequest(buf);
  assert.ok(d.ok && d.request.action === 'announce');
});

test('scrape request round-trips up to 74 hashes, in order', () => {
  const hashes = Array.from({ length: 74 }, () => randomBytes(20));
  const d = decodeRequest(encodeScrapeRequest(5n, 9, hashes));
  assert.ok(d.ok && d.request.action === 'scrape');
  if (d.ok && d.request.action === 'scrape') assert.equal(d.request.infoHashes, hashes);
});

test('replies round-trip: connect, announce, scrape, error', () => {
  assert.equal(decodeReply(encodeConnectReply(7, 0xfedcba9876543210n)), {
    action: 'connect',
    transactionId: 7,
    connectionId: 0xfedcba9876543210n,
  });
  const peers = encodeCompactPeers([{ ip: Buffer.from([10, 0, 0, 1]), port: 6881 }], 4);
  assert.equal(decodeReply(encodeAnnounceReply({ transactionId: 8, interval: 1800, leechers: 3, seeders: 2, peers })), {
    action: 'announce',
    transactionId: 8,
    interval: 1800,
    leechers: 3,
    seeders: 2,
    peers,
  });
  const entries = [
    { seeders: 1, completed: 2, leechers: 3 },
    { seeders: 0, completed: 0, leechers: 0 },
  ];
  assert.equal(decodeReply(encodeScrapeReply(9, entries)), { action: 'scrape', transactionId: 9, entries });
  assert.equal(decodeReply(encodeErrorReply(10, 'nope ü')), { action: 'error', transactionId: 10, message: 'nope ü' });
});

test('compact peers: 6 bytes per IPv4 peer, 18 per IPv6 peer', () => {
  const v4 = [
    { ip: Buffer.from([127, 0, 0, 1]), port: 1 },
    { ip: Buffer.from([1, 2, 3, 4]), port: 65535 },
  ];
  const b4 = encodeCompactPeers(v4, 4);
  assert.is(b4.length, 12);
  assert.equal(decodeCompactPeers(b4, 4), v4);
  const v6 = [{ ip: addressBytes('2001:db8::1')!.ip, port: 443 }];
  const b6 = encodeCompactPeers(v6, 6);
  assert.is(b6.length, 18);
  assert.equal(decodeCompactPeers(b6, 6), v6);
});

test('addresses: IPv4, IPv4-mapped IPv6 counts as IPv4, IPv6', () => {
  assert.equal(addressBytes('10.1.2.3'), { family: 4, ip: Buffer.from([10, 1, 2, 3]) });
  assert.equal(addressBytes('::ffff:10.1.2.3'), { family: 4, ip: Buffer.from([10, 1, 2, 3]) });
  const v6 = addressBytes('2001:db8::ff00:42:8329')!;
  assert.is(v6.family, 6);
  assert.is(v6.ip.toString('hex'), '20010db8000000000000ff0000428329');
  assert.is(addressText(Buffer.from([192, 168, 0, 1])), '192.168.0.1');
  assert.is(addressBytes('not-an-ip'), undefined);
});

test('too short to answer: empty, 3 bytes, 15 bytes are dropped', () => {
  for (const n of [0, 3, 15]) {
    const d = decodeRequest(Buffer.alloc(n));
    assert.ok(!d.ok && d.error.kind === 'drop', `length ${n}`);
  }
});

test('connect without the protocol magic is dropped', () => {
  const buf = encodeConnectRequest(1);
  buf.writeBigUInt64BE(PROTOCOL_ID + 1n, 0);
  const d = decodeRequest(buf);
  assert.ok(!d.ok && d.error.kind === 'drop');
});

test('unknown action, short announce, bad event, ragged or oversized scrape: error values with the transaction ID', () => {
  const unknown = encodeConnectRequest(77);
  unknown.writeUInt32BE(9, 8);
  const short = encodeAnnounceRequest(announce).subarray(0, 97);
  const badEvent = encodeAnnounceRequest({ ...announce, event: 2 });
  badEvent.writeUInt32BE(4, 80);
  const ragged = encodeScrapeRequest(1n, announce.transactionId, [Buffer.alloc(20)]).subarray(0, 30);
  const empty = encodeScrapeRequest(1n, announce.transactionId, []);
  const tooMany = encodeScrapeRequest(
    1n,
    announce.transactionId,
    Array.from({ length: 75 }, () => Buffer.alloc(20)),
  );
  const cases: Array<[Buffer, number, RegExp]> = [
    [unknown, 77, /unknown action/],
    [short, announce.transactionId, /shorter than 98/],
    [badEvent, announce.transactionId, /event/],
    [ragged, announce.transactionId, /20-byte/],
    [empty, announce.transactionId, /without info hashes/],
    [tooMany, announce.transactionId, /too many/],
  ];
  for (const [buf, tid, msg] of cases) {
    const d = decodeRequest(buf);
    assert.ok(!d.ok && d.error.kind === 'reply', msg.source);
    if (!d.ok && d.error.kind === 'reply') {
      assert.is(d.error.transactionId, tid);
      assert.match(d.error.message, msg);
    }
  }
});

test('random bytes of every length never throw', () => {
  for (let n = 0; n < 2000; n++) {
    const d = decodeRequest(randomBytes(n % 1500));
    assert.type(d.ok, 'boolean');
  }
});

test.run();
