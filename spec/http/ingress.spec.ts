/** HttpIngress decisions: not serving, rate limit, hash policy, scrape from memory, announce proposals. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyChange, createStore } from '../../src/domain/swarm.js';
import { Event } from '../../src/protocol/constants.js';
import { createRateLimiter } from '../../src/policy/rate-limit.js';
import { decodeBencode, type BDict } from '../../src/torrent/bencode.js';
import { handleHttpRequest, NOT_ALLOWED, NOT_SERVING, RATE_LIMITED, type HttpIngressDeps } from '../../src/http/ingress.js';
import type { HttpAnnounce } from '../../src/http/query.js';
import { ManualClock } from '../helpers/manual-clock.js';

const HASH = Buffer.alloc(20, 7);
const ANN: HttpAnnounce = {
  action: 'announce',
  infoHash: HASH,
  peerId: Buffer.alloc(20, 1),
  port: 6881,
  uploaded: 0n,
  downloaded: 0n,
  left: 0n,
  event: Event.started,
  numWant: -1,
  compact: true,
  noPeerId: false,
  key: null,
};
const FROM = { address: '127.0.0.1', port: 40000 };
const dict = (b: Buffer): BDict => {
  const r = decodeBencode(b);
  if (!r.ok) throw new Error(r.error);
  return r.value as BDict;
};
const reason = (b: Buffer): string => (dict(b).get('failure reason') as Buffer).toString();

const deps = (over: Partial<HttpIngressDeps> = {}): HttpIngressDeps => {
  const store = createStore();
  return { clock: new ManualClock(1_700_000_000_000), serving: () => true, store: () => store, ...over };
};

test('announce → proposal with the sender address and Master time', () => {
  const o = handleHttpRequest(ANN, FROM, deps());
  assert.is(o.type, 'propose');
  if (o.type !== 'propose') return;
  assert.equal([...o.change.ip], [127, 0, 0, 1]);
  assert.is(o.change.at, 1_700_000_000_000);
  assert.is(o.client.kind, 'http');
});

test('not serving: an immediate failure, for announces and scrapes', () => {
  for (const req of [ANN, { action: 'scrape' as const, infoHashes: [HASH] }]) {
    const o = handleHttpRequest(req, FROM, deps({ serving: () => false }));
    assert.ok(o.type === 'answer' && o.outcome === 'not-serving' && reason(o.body) === NOT_SERVING);
  }
});

test('hash policy and rate limit', () => {
  const deny = deps({ hashes: () => ({ allow: null, deny: new Set([HASH.toString('hex')]) }) });
  const o = handleHttpRequest(ANN, FROM, deny);
  assert.ok(o.type === 'answer' && o.outcome === 'refused' && reason(o.body) === NOT_ALLOWED);
  const s = handleHttpRequest({ action: 'scrape', infoHashes: [Buffer.alloc(20), HASH] }, FROM, deny);
  assert.ok(s.type === 'answer' && reason(s.body) === NOT_ALLOWED);
  const limited = deps({ limiter: createRateLimiter(1, 1) });
  assert.is(handleHttpRequest(ANN, FROM, limited).type, 'propose');
  const r = handleHttpRequest(ANN, FROM, limited);
  assert.ok(r.type === 'answer' && reason(r.body) === RATE_LIMITED);
});

test('scrape answered from the store at once', () => {
  const d = deps();
  const p = handleHttpRequest(ANN, FROM, d);
  if (p.type === 'propose') applyChange(d.store(), p.change);
  const o = handleHttpRequest({ action: 'scrape', infoHashes: [HASH] }, FROM, d);
  assert.ok(o.type === 'answer' && o.outcome === 'ok');
  if (o.type !== 'answer') return;
  const f = (dict(o.body).get('files') as BDict).get(HASH.toString('latin1')) as BDict;
  assert.is(f.get('complete'), 1n);
});

test('an unusable sender address is refused', () => {
  const o = handleHttpRequest(ANN, { address: 'garbage', port: 1 }, deps());
  assert.ok(o.type === 'answer' && o.outcome === 'refused');
});

test.run();
