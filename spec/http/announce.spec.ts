/** HTTP announce → change, and the reply read from the swarm store after the change is applied. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyChange, createStore } from '../../src/domain/swarm.js';
import { Event } from '../../src/protocol/constants.js';
import { decodeBencode, type BDict, type BValue } from '../../src/torrent/bencode.js';
import { httpAnnounceBody, httpAnnounceChange, httpNumWant, httpScrapeBody, selectReplyPeers } from '../../src/http/announce.js';
import type { HttpAnnounce } from '../../src/http/query.js';

const HASH = Buffer.alloc(20, 0xab);
const req = (peer: number, over: Partial<HttpAnnounce> = {}): HttpAnnounce => ({
  action: 'announce',
  infoHash: HASH,
  peerId: Buffer.alloc(20, peer),
  port: 6000 + peer,
  uploaded: 0n,
  downloaded: 0n,
  left: peer % 2 ? 0n : 10n,
  event: Event.started,
  numWant: -1,
  compact: true,
  noPeerId: false,
  key: null,
  ...over,
});
const dict = (b: Buffer): BDict => {
  const r = decodeBencode(b);
  if (!r.ok) throw new Error(r.error);
  return r.value as BDict;
};

test('change: sender address (IPv4-mapped → 4 bytes), announced port, whole seconds', () => {
  const r = httpAnnounceChange(req(1), { address: '::ffff:10.1.2.3', port: 40000 }, 1_700_000_000_567);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal([...r.change.ip], [10, 1, 2, 3]);
  assert.is(r.change.port, 6001);
  assert.is(r.change.at, 1_700_000_000_000);
  assert.is(r.change.event, Event.started);
  assert.is(r.client.family, 4);
  assert.is(r.client.offset, 40000);
  const v6 = httpAnnounceChange(req(1), { address: '2001:db8::7', port: 1 }, 0);
  assert.ok(v6.ok && v6.change.ip.length === 16 && v6.client.family === 6);
  assert.not.ok(httpAnnounceChange(req(1), { address: 'nonsense', port: 1 }, 0).ok);
});

test('reply: counts, never the requester, peer ids in the dictionary model', () => {
  const store = createStore();
  const clients = [1, 2, 3, 4].map((p) => httpAnnounceChange(req(p, { compact: p !== 4 }), { address: `10.0.0.${p}`, port: 50000 + p }, 0));
  for (const c of clients) if (c.ok) applyChange(store, c.change);
  const last = clients[3]!;
  if (!last.ok) throw new Error('bad');
  const d = dict(httpAnnounceBody(store, HASH, last.client, 1800));
  assert.is(d.get('complete'), 2n);
  assert.is(d.get('incomplete'), 2n);
  assert.is(d.get('interval'), 1800n);
  const peers = d.get('peers') as BValue[];
  assert.is(peers.length, 3);
  const ips = peers.map((p) => ((p as BDict).get('ip') as Buffer).toString()).sort();
  assert.equal(ips, ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  for (const p of peers) {
    const e = p as BDict;
    const n = Number((e.get('ip') as Buffer).toString().split('.')[3]);
    assert.ok((e.get('peer id') as Buffer).equals(Buffer.alloc(20, n)));
    assert.is(e.get('port'), BigInt(6000 + n));
  }
  const first = clients[0]!;
  if (!first.ok) throw new Error('bad');
  const compact = dict(httpAnnounceBody(store, HASH, first.client, 60)).get('peers') as Buffer;
  assert.is(compact.length, 3 * 6);
});

test('numwant and windows', () => {
  assert.is(httpNumWant(-1), 50);
  assert.is(httpNumWant(10), 10);
  assert.is(httpNumWant(100000), 200);
  const store = createStore();
  for (let p = 1; p <= 30; p++) {
    const c = httpAnnounceChange(req(p), { address: `10.0.1.${p}`, port: 1 }, 0);
    if (c.ok) applyChange(store, c.change);
  }
  const self = { ip: Buffer.from([9, 9, 9, 9]), port: 9 };
  assert.is(selectReplyPeers(store, HASH, 4, self, 10, 0).length, 10);
  assert.is(selectReplyPeers(store, HASH, 4, self, 100, 7).length, 30);
  assert.is(selectReplyPeers(store, HASH, 6, self, 100, 0).length, 0);
  assert.is(selectReplyPeers(store, Buffer.alloc(20), 4, self, 100, 0).length, 0);
  const a = selectReplyPeers(store, HASH, 4, self, 5, 0).map((p) => p.port);
  const b = selectReplyPeers(store, HASH, 4, self, 5, 3).map((p) => p.port);
  assert.not.equal(a, b);
});

test('scrape from the store; unknown hashes are zero', () => {
  const store = createStore();
  const c = httpAnnounceChange(req(1, { event: Event.completed }), { address: '10.0.0.1', port: 1 }, 0);
  if (c.ok) applyChange(store, c.change);
  const files = dict(httpScrapeBody(store, [HASH, Buffer.alloc(20, 1)])).get('files') as BDict;
  const known = files.get(HASH.toString('latin1')) as BDict;
  assert.equal([known.get('complete'), known.get('downloaded'), known.get('incomplete')], [1n, 1n, 0n]);
  const unknown = files.get(Buffer.alloc(20, 1).toString('latin1')) as BDict;
  assert.is(unknown.get('complete'), 0n);
});

test.run();
