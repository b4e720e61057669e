/** The cluster inbox: what each message from the broker becomes, and every refusal with its typed reason. */
import { createHmac } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSigner, openSigner } from '../../src/bus/auth.js';
import { createFreshness } from '../../src/bus/freshness.js';
import { routeBulk, routeInbound } from '../../src/node/cluster-inbox.js';

const SELF = 2;
const TRANSFER = '0123456789abcdef';
const PART = { type: 'transfer', from: 3, epoch: 3, transfer: TRANSFER, kind: 'snapshot', seq: 1, total: 0, part: 0, last: true, data: '' };
const signer = createSigner(Buffer.from('a cluster secret of enough length'), '3333333333333333');
const route = (m: object, s = signer) => routeInbound(s.sign(m), SELF, s, 1000);

test('a message without a valid tag is rejected as bad-tag: none, forged, tampered, or under another secret', () => {
  const m = { type: 'coordinator', from: 3, epoch: 4 };
  const other = createSigner(Buffer.from('some other secret of enough length'), '3333333333333333');
  assert.equal(routeInbound(m, SELF, signer, 0), { to: 'rejected', reason: 'bad-tag' });
  assert.equal(routeInbound(other.sign(m), SELF, signer, 0), { to: 'rejected', reason: 'bad-tag' });
  assert.equal(routeInbound({ ...signer.sign(m), epoch: 5 }, SELF, signer, 0), { to: 'rejected', reason: 'bad-tag' });
  assert.equal(routeInbound('not an object', SELF, signer, 0), { to: 'rejected', reason: 'bad-tag' });
});

test('a signed message that breaks the schema is rejected as malformed', () => {
  for (const m of [
    { type: 'nonsense', from: 3, epoch: 1 },
    { type: 'commit', from: 3, epoch: 1 },
    { type: 'vote', from: 0, epoch: 1, to: 2, seq: 1, ok: true },
  ]) {
    assert.equal(route(m), { to: 'rejected', reason: 'malformed' }, JSON.stringify(m));
  }
});

test('each kind goes where it belongs; own echoes (but keepalives and COORDINATORs) and messages for others are ignored', () => {
  const keepalive = { type: 'keepalive', from: SELF, epoch: 1, role: 'slave', synced: true, nonce: 'n', applied: 0, startedAt: 0 };
  assert.equal(route(keepalive), { to: 'heartbeat', input: { type: 'keepalive', msg: keepalive, now: 1000 } });
  assert.equal(route({ type: 'election', from: 1, epoch: 3 }), { to: 'election', input: { type: 'election', from: 1, epoch: 3 } });
  assert.equal(route({ type: 'answer', from: 3, epoch: 3, to: SELF }), {
    to: 'election',
    input: { type: 'answer', from: 3, to: SELF, epoch: 3 },
  });
  assert.equal(route({ type: 'answer', from: 3, epoch: 3, to: 1 }), { to: 'ignored' });
  assert.equal(route({ type: 'commit', from: 3, epoch: 3, seq: 7 }), {
    to: 'round',
    message: { type: 'commit', from: 3, epoch: 3, seq: 7 },
  });
  assert.equal(route({ type: 'commit', from: SELF, epoch: 3, seq: 7 }), { to: 'ignored' });
  assert.equal(route({ type: 'election', from: SELF, epoch: 3 }), { to: 'ignored' });
  // Its echo is what confirms our claim of an epoch.
  assert.equal(route({ type: 'coordinator', from: SELF, epoch: 4 }), {
    to: 'election',
    input: { type: 'coordinator', from: SELF, epoch: 4 },
  });
  assert.equal(route({ type: 'vote', from: 1, epoch: 3, to: 3, seq: 7, ok: true }), { to: 'ignored' });
  assert.is(route({ type: 'vote', from: 1, epoch: 3, to: SELF, seq: 7, ok: true }).to, 'vote');
  assert.is(route({ type: 'sync-request', from: 4, epoch: 3, applied: 0, transfer: TRANSFER }).to, 'sync-request');
  const ack = { type: 'sync-ack', from: 4, epoch: 3, transfer: TRANSFER, next: 1 };
  assert.is(route({ ...ack, to: SELF }).to, 'sync-ack');
  assert.equal(route({ ...ack, to: 5 }), { to: 'ignored' });
  // Transfer parts travel only on the transfer queue: one on the topic is refused.
  assert.equal(route({ ...PART, to: SELF }), { to: 'rejected', reason: 'malformed' });
});

test('the transfer queue takes only transfer parts addressed to this instance, judged by tag, not by freshness counters', () => {
  const three = createSigner(Buffer.from('a cluster secret of enough length'), '3333333333333333');
  const signed = three.sign({ ...PART, to: SELF });
  assert.is(routeBulk(signed, SELF, signer).to, 'transfer');
  // The same part again is the receiver's to drop as a duplicate (state-sync), not a replay here.
  assert.is(routeBulk(JSON.parse(JSON.stringify(signed)), SELF, signer).to, 'transfer');
  assert.equal(routeBulk(three.sign({ ...PART, to: 4 }), SELF, signer), { to: 'ignored' });
  assert.equal(routeBulk(three.sign({ type: 'commit', from: 3, epoch: 1, seq: 1 }), SELF, signer), { to: 'rejected', reason: 'malformed' });
  assert.equal(routeBulk({ ...signed, seq: 2 }, SELF, signer), { to: 'rejected', reason: 'bad-tag' });
});

test('with a secret, a replayed message of any kind is rejected as replayed; the first delivery went through', () => {
  const fresh = createFreshness(SELF, { inc: '2222222222222222', startedAt: 0 });
  const three = createSigner(Buffer.from('a cluster secret of enough length'), '3333333333333333');
  const kinds = [
    { type: 'keepalive', from: 3, epoch: 1, role: 'master', synced: true, nonce: '3333333333333333', applied: 0, startedAt: 10 },
    { type: 'coordinator', from: 3, epoch: 1 },
    { type: 'prepare', from: 3, epoch: 1, seq: 1, changes: '' },
    { type: 'commit', from: 3, epoch: 1, seq: 1 },
    { type: 'vote', from: 3, epoch: 1, to: SELF, seq: 1, ok: true },
    { type: 'sync-ack', from: 3, epoch: 1, to: SELF, transfer: TRANSFER, next: 1 },
    { type: 'sync-request', from: 3, epoch: 1, applied: 0, transfer: TRANSFER },
  ];
  const recorded = kinds.map((m) => JSON.parse(JSON.stringify(three.sign(m))) as unknown);
  for (const raw of recorded) assert.is.not(routeInbound(raw, SELF, signer, 0, fresh).to, 'rejected');
  for (const raw of recorded) assert.equal(routeInbound(raw, SELF, signer, 0, fresh), { to: 'rejected', reason: 'replayed' });
  // Messages addressed to others count too: a replay is refused before it is ignored.
  const vote = three.sign({ type: 'vote', from: 3, epoch: 1, to: 4, seq: 1, ok: true });
  assert.equal(routeInbound(vote, SELF, signer, 0, fresh), { to: 'ignored' });
  assert.equal(routeInbound(vote, SELF, signer, 0, fresh), { to: 'rejected', reason: 'replayed' });
});

test('with a secret, a new incarnation of a known sender joins only through a keepalive; a signed message without a stamp is malformed', () => {
  const fresh = createFreshness(SELF, { inc: '2222222222222222', startedAt: 0 });
  const secret = Buffer.from('a cluster secret of enough length');
  const before = createSigner(secret, 'aaaaaaaaaaaaaaaa');
  const after = createSigner(secret, 'bbbbbbbbbbbbbbbb');
  const keepalive = (startedAt: number) => ({
    type: 'keepalive',
    from: 3,
    epoch: 1,
    role: 'slave',
    synced: true,
    nonce: 'n',
    applied: 0,
    startedAt,
  });
  const recorded = JSON.parse(JSON.stringify(before.sign(keepalive(10)))) as unknown;
  assert.is(routeInbound(recorded, SELF, signer, 0, fresh).to, 'heartbeat');
  assert.equal(routeInbound(after.sign({ type: 'coordinator', from: 3, epoch: 2 }), SELF, signer, 0, fresh), {
    to: 'rejected',
    reason: 'unknown-sender',
  });
  assert.is(routeInbound(after.sign(keepalive(20)), SELF, signer, 0, fresh).to, 'heartbeat', 'the restarted 3');
  assert.is(routeInbound(after.sign({ type: 'coordinator', from: 3, epoch: 2 }), SELF, signer, 0, fresh).to, 'election');
  assert.equal(routeInbound(recorded, SELF, signer, 0, fresh), { to: 'rejected', reason: 'replayed' }, 'a recording of the earlier one');
  // Valid tag, no stamp (an older member): with a secret, malformed.
  const tagOf = (o: object): string => createHmac('sha256', secret).update(JSON.stringify(o)).digest().subarray(0, 16).toString('hex');
  const bare = { type: 'commit', from: 3, epoch: 1, seq: 1 };
  assert.equal(routeInbound({ ...bare, tag: tagOf(bare) }, SELF, signer, 0, fresh), { to: 'rejected', reason: 'malformed' });
});

test('without a secret every well-formed message passes, and garbage is still malformed', () => {
  assert.is(routeInbound({ type: 'coordinator', from: 3, epoch: 4 }, SELF, openSigner, 0).to, 'election');
  assert.equal(routeInbound({ type: 'coordinator' }, SELF, openSigner, 0), { to: 'rejected', reason: 'malformed' });
  assert.equal(routeInbound(null, SELF, openSigner, 0), { to: 'rejected', reason: 'bad-tag' });
});

test.run();
