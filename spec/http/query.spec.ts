/** HTTP request targets → typed announce/scrape requests: exact binary decoding, every refusal, BEP 48 limits. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Event } from '../../src/protocol/constants.js';
import { MAX_U64, parseTarget, percentDecode, type HttpAnnounce, type HttpScrape, type ParsedTarget } from '../../src/http/query.js';

/** Every byte as %XX. */
const encAll = (b: Buffer): string => [...b].map((x) => `%${x.toString(16).padStart(2, '0').toUpperCase()}`).join('');
/** What libtorrent does: unreserved bytes raw, the rest %xx (lower-case hex here, to check both cases). */
const encMixed = (b: Buffer): string =>
  [...b]
    .map((x) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(x)) ? String.fromCharCode(x) : `%${x.toString(16).padStart(2, '0')}`))
    .join('');

const HASH = Buffer.from([
  0x00, 0xff, 0x80, 0x25, 0x2b, 0x20, 0x26, 0x3d, 0x41, 0x7e, 0x00, 0x01, 0x9f, 0xa0, 0xc3, 0xa9, 0x3f, 0x23, 0x7f, 0xfe,
]);
const PEER = Buffer.from('-LT2080-\x00\xff\x80abcde1234', 'latin1');

const base = (over: Record<string, string | null> = {}): string => {
  const p: Record<string, string | null> = {
    info_hash: encAll(HASH),
    peer_id: encAll(PEER),
    port: '6881',
    uploaded: '0',
    downloaded: '0',
    left: '100',
    ...over,
  };
  return `/announce?${Object.entries(p)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${v}`)
    .join('&')}`;
};

function announce(target: string): HttpAnnounce {
  const r = parseTarget(target);
  if (!r.ok) throw new Error(`expected an announce, got ${JSON.stringify(r)}`);
  assert.is(r.request.action, 'announce');
  return r.request as HttpAnnounce;
}
function scrape(target: string): HttpScrape {
  const r = parseTarget(target);
  if (!r.ok) throw new Error(`expected a scrape, got ${JSON.stringify(r)}`);
  assert.is(r.request.action, 'scrape');
  return r.request as HttpScrape;
}
function failure(r: ParsedTarget, includes: string): void {
  if (r.ok || r.kind !== 'bad-request') throw new Error(`expected a bad request, got ${JSON.stringify(r)}`);
  assert.ok(r.failureReason.includes(includes), `"${r.failureReason}" should mention "${includes}"`);
}

test('announce: hashes with %00, bytes ≥ 0x80, %, +, &, = decode to the exact 20 bytes', () => {
  const a = announce(base());
  assert.ok(a.infoHash.equals(HASH), a.infoHash.toString('hex'));
  assert.ok(a.peerId.equals(PEER));
  assert.is(a.infoHash.length, 20);
  assert.is(a.port, 6881);
  assert.is(a.uploaded, 0n);
  assert.is(a.left, 100n);
  assert.is(a.event, Event.none);
  assert.is(a.numWant, -1);
  assert.is(a.compact, true);
  assert.is(a.noPeerId, false);
  assert.is(a.key, null);
});

test('announce: mixed encoding (unreserved raw, lower-case hex) gives the same bytes', () => {
  assert.ok(announce(base({ info_hash: encMixed(HASH), peer_id: encMixed(PEER) })).infoHash.equals(HASH));
  assert.ok(announce(base({ peer_id: encMixed(PEER) })).peerId.equals(PEER));
});

test('announce: every byte value 0..255 survives a round trip', () => {
  for (let start = 0; start < 256; start += 20) {
    const h = Buffer.from(Array.from({ length: 20 }, (_, i) => (start + i) % 256));
    assert.ok(announce(base({ info_hash: encAll(h) })).infoHash.equals(h), `from ${start}`);
    assert.ok(announce(base({ info_hash: encMixed(h) })).infoHash.equals(h), `mixed from ${start}`);
  }
});

test('announce: raw bytes ≥ 0x80 in the target (latin1 chars) are kept as bytes', () => {
  const h = Buffer.from(Array.from({ length: 20 }, (_, i) => 0x80 + i * 6));
  assert.ok(announce(base({ info_hash: h.toString('latin1') })).infoHash.equals(h));
});

test('announce: + is 0x2B in binary params (info_hash, peer_id, key) and a space in text params', () => {
  const h = Buffer.alloc(20, 0x2b);
  assert.ok(announce(base({ info_hash: '+'.repeat(20) })).infoHash.equals(h));
  assert.is(announce(base({ key: 'a+b%20c%FF' })).key!.toString('latin1'), 'a+b c\xff');
  assert.is(announce(base({ event: 'st%61rted' })).event, Event.started);
  failure(parseTarget(base({ event: 'started+' })), 'unknown event "started "');
});

test('announce: optional parameters', () => {
  const a = announce(base({ event: 'started', numwant: '30', compact: '0', no_peer_id: '1', key: 'deadbeef', ip: '10.0.0.1' }));
  assert.is(a.event, Event.started);
  assert.is(a.numWant, 30);
  assert.is(a.compact, false);
  assert.is(a.noPeerId, true);
  assert.ok(a.key!.equals(Buffer.from('deadbeef')));
  assert.is(announce(base({ event: 'completed' })).event, Event.completed);
  assert.is(announce(base({ event: 'stopped' })).event, Event.stopped);
  assert.is(announce(base({ event: 'empty' })).event, Event.none);
  assert.is(announce(base({ event: '' })).event, Event.none);
  assert.is(announce(base({ numwant: '-1' })).numWant, -1);
  assert.is(announce(base({ numwant: '0' })).numWant, 0);
  assert.is(announce(base({ compact: '1' })).compact, true);
  // ip is ignored, even repeated or garbage
  assert.is(announce(base({ ip: 'not-an-ip&ip=%ZZ' })).port, 6881);
  // unknown parameters are ignored; empty segments too
  assert.is(announce(`${base({ supportcrypto: '1', corrupt: '0' })}&&`).port, 6881);
});

test('announce: numbers', () => {
  const max = MAX_U64.toString();
  const a = announce(base({ uploaded: max, downloaded: '0000000000000000000000000000000042', left: '0' }));
  assert.is(a.uploaded, MAX_U64);
  assert.is(a.downloaded, 42n);
  assert.is(a.left, 0n);
  assert.is(announce(base({ port: '1' })).port, 1);
  assert.is(announce(base({ port: '65535' })).port, 65535);
  failure(parseTarget(base({ uploaded: (MAX_U64 + 1n).toString() })), 'uploaded is larger');
  failure(parseTarget(base({ left: '9'.repeat(400) })), 'left is larger');
  failure(parseTarget(base({ downloaded: '-5' })), 'downloaded must not be negative');
  failure(parseTarget(base({ left: '1.5' })), 'left must be a decimal integer');
  failure(parseTarget(base({ left: '' })), 'left must be a decimal integer');
  failure(parseTarget(base({ left: '+5' })), 'left must be a decimal integer');
  failure(parseTarget(base({ left: '0x10' })), 'left must be a decimal integer');
  failure(parseTarget(base({ left: '1e3' })), 'left must be a decimal integer');
  failure(parseTarget(base({ port: '0' })), 'invalid port 0');
  failure(parseTarget(base({ port: '65536' })), 'port is larger');
  failure(parseTarget(base({ port: '-1' })), 'port must not be negative');
  failure(parseTarget(base({ port: 'http' })), 'port must be a decimal integer');
  failure(parseTarget(base({ numwant: 'lots' })), 'numwant must be a decimal integer');
  failure(parseTarget(base({ numwant: '99999999999' })), 'numwant');
  failure(parseTarget(base({ numwant: '2147483648' })), 'numwant is out of range');
});

test('announce: missing required parameters', () => {
  for (const name of ['info_hash', 'peer_id', 'port', 'uploaded', 'downloaded', 'left']) {
    failure(parseTarget(base({ [name]: null })), `missing ${name}`);
  }
  failure(parseTarget('/announce'), 'missing info_hash');
  failure(parseTarget('/announce?'), 'missing info_hash');
});

test('announce: wrong sizes and malformed escapes', () => {
  failure(parseTarget(base({ info_hash: encAll(HASH.subarray(0, 19)) })), 'info_hash must be 20 bytes (got 19)');
  failure(parseTarget(base({ info_hash: encAll(Buffer.concat([HASH, Buffer.from([1])])) })), 'info_hash must be 20 bytes (got 21)');
  failure(parseTarget(base({ info_hash: '' })), 'info_hash must be 20 bytes (got 0)');
  // 40 hex characters are not the 20 bytes: clients must percent-encode the raw hash
  failure(parseTarget(base({ info_hash: HASH.toString('hex') })), 'info_hash must be 20 bytes (got 40)');
  failure(parseTarget(base({ peer_id: encAll(PEER.subarray(0, 10)) })), 'peer_id must be 20 bytes (got 10)');
  failure(parseTarget(base({ info_hash: `${encAll(HASH.subarray(0, 19))}%G0` })), 'malformed percent-encoding in info_hash');
  failure(parseTarget(base({ info_hash: `${encAll(HASH.subarray(0, 19))}%4` })), 'malformed percent-encoding in info_hash');
  failure(parseTarget(base({ peer_id: `${encAll(PEER.subarray(0, 19))}%` })), 'malformed percent-encoding in peer_id');
  failure(parseTarget(base({ key: '%zz' })), 'malformed percent-encoding in key');
  failure(parseTarget(`${base()}&%X=1`), 'parameter name');
  failure(parseTarget(base({ event: 'paused' })), 'unknown event "paused"');
  failure(parseTarget(base({ compact: '2' })), 'compact must be 0 or 1');
  failure(parseTarget(base({ no_peer_id: 'yes' })), 'no_peer_id must be 0 or 1');
  failure(parseTarget(`${base()}&port=6882`), 'port given more than once');
  failure(parseTarget(`${base()}&info_hash=${encAll(HASH)}`), 'info_hash given more than once');
  // a char above 0xFF cannot come off the wire (node hands the target over as latin1)
  failure(parseTarget(base({ info_hash: `${'é'.repeat(19)}\u0100` })), 'malformed percent-encoding in info_hash');
});

test('paths: only /announce and /scrape exist', () => {
  for (const t of ['/', '/announce/', '/Announce?x=1', '/scrape.php', '/metrics', '', 'announce', '/tracker/announce?info_hash=x']) {
    const r = parseTarget(t);
    assert.ok(!r.ok && r.kind === 'not-found', t);
  }
  const r = parseTarget('/foo?bar');
  assert.equal(r, { ok: false, kind: 'not-found', path: '/foo' });
});

test('scrape: 0, 1 and 74 hashes, in order, exact bytes', () => {
  assert.equal(scrape('/scrape').infoHashes, []);
  assert.equal(scrape('/scrape?').infoHashes, []);
  assert.equal(scrape('/scrape?peer_id=x&foo=bar').infoHashes, []);
  assert.ok(scrape(`/scrape?info_hash=${encAll(HASH)}`).infoHashes[0]!.equals(HASH));
  const hashes = Array.from({ length: 74 }, (_, i) => Buffer.from(Array.from({ length: 20 }, (_, j) => (i * 37 + j * 11) % 256)));
  const s = scrape(`/scrape?${hashes.map((h, i) => `info_hash=${i % 2 ? encAll(h) : encMixed(h)}`).join('&')}`);
  assert.is(s.infoHashes.length, 74);
  for (const [i, h] of hashes.entries()) assert.ok(s.infoHashes[i]!.equals(h), `hash ${i}`);
});

test('scrape: 75 hashes and bad hashes are refused', () => {
  const t = `/scrape?${Array.from({ length: 75 }, () => `info_hash=${encAll(HASH)}`).join('&')}`;
  failure(parseTarget(t), 'too many info hashes (max 74)');
  failure(parseTarget(`/scrape?info_hash=${encAll(HASH)}&info_hash=${encAll(HASH.subarray(1))}`), 'info_hash must be 20 bytes (got 19)');
  failure(parseTarget('/scrape?info_hash=%0'), 'malformed percent-encoding in info_hash');
  const r = parseTarget('/scrape?info_hash=abc');
  assert.ok(!r.ok && r.kind === 'bad-request' && r.action === 'scrape');
});

test('percentDecode', () => {
  assert.equal([...percentDecode('%00%ff%FFa+', false)!], [0, 255, 255, 0x61, 0x2b]);
  assert.equal([...percentDecode('a+b', true)!], [0x61, 0x20, 0x62]);
  assert.is(percentDecode('%', false), null);
  assert.is(percentDecode('%0', false), null);
  assert.is(percentDecode('%0g', false), null);
  assert.is(percentDecode('\u0100', false), null);
  assert.is(percentDecode('', true)!.length, 0);
});

test.run();
