/** The signer: tags over the JSON text, the freshness stamp in the envelope, and what a verifier refuses. */
import { createHmac } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSigner, openSigner } from '../../src/bus/auth.js';

const SECRET = Buffer.from('a cluster secret of enough length');
const INC = '0123456789abcdef';
const commit = { type: 'commit', from: 3, epoch: 2, seq: 7 };
/** Through the broker: JSON text and back, as the bridge does. */
const wire = (m: object): unknown => JSON.parse(JSON.stringify(m));

test('a signed message verifies under the same secret and comes back without its envelope, with its stamp', () => {
  const s = createSigner(SECRET, INC);
  const signed = s.sign(commit);
  assert.equal(Object.keys(signed), ['type', 'from', 'epoch', 'seq', 'inc', 'ctr', 'tag']);
  assert.match(signed.tag, /^[0-9a-f]{32}$/);
  const v = createSigner(SECRET, 'ffffffffffffffff').verify(wire(signed));
  assert.equal(v, { message: commit, stamp: { inc: INC, ctr: 1 } });
  assert.ok(s.authenticated);
});

test('the counter goes up by one with each message signed, from 1; each signer has its own', () => {
  const s = createSigner(SECRET, INC);
  assert.equal(
    [s.sign(commit), s.sign({ type: 'election', from: 3, epoch: 2 }), s.sign(commit)].map((m) => (m as unknown as { ctr: number }).ctr),
    [1, 2, 3],
  );
  assert.is((createSigner(SECRET, 'aaaaaaaaaaaaaaaa').sign(commit) as unknown as { ctr: number }).ctr, 1);
});

test('a tampered tag, a tampered field, a tampered stamp, or a stripped tag: refused', () => {
  const s = createSigner(SECRET, INC);
  const signed = wire(s.sign(commit)) as Record<string, unknown>;
  const tag = signed.tag as string;
  const flipped = (tag[0] === '0' ? '1' : '0') + tag.slice(1);
  assert.is(s.verify({ ...signed, tag: flipped }), null, 'one hex digit of the tag');
  assert.is(s.verify({ ...signed, tag: tag.toUpperCase() }), null, 'not lower-case hex');
  assert.is(s.verify({ ...signed, tag: tag.slice(0, 30) }), null, 'a short tag');
  assert.is(s.verify({ ...signed, seq: 8 }), null, 'a field');
  assert.is(s.verify({ ...signed, ctr: 1000 }), null, 'the counter: a replay cannot be made to look new');
  assert.is(s.verify({ ...signed, inc: 'ffffffffffffffff' }), null, 'the incarnation');
  assert.is(s.verify({ ...signed, extra: 1 }), null, 'an added field');
  const { tag: _t, ...bare } = signed;
  assert.is(s.verify(bare), null, 'no tag');
  for (const junk of [null, 'text', 42, [signed]]) assert.is(s.verify(junk), null, JSON.stringify(junk));
});

test('the wrong secret: refused both ways', () => {
  const a = createSigner(SECRET, INC);
  const b = createSigner(Buffer.from('another secret of enough length!'), INC);
  assert.is(b.verify(wire(a.sign(commit))), null);
  assert.is(a.verify(wire(b.sign(commit))), null);
});

test('reordered fields change the signed text: refused (the tag itself may go anywhere)', () => {
  const s = createSigner(SECRET, INC);
  const signed = s.sign(commit);
  const { type, from, epoch, seq, inc, ctr, tag } = signed as typeof signed & { inc: string; ctr: number };
  assert.is(s.verify({ from, type, epoch, seq, inc, ctr, tag }), null, 'type and from swapped');
  assert.is(s.verify({ type, from, epoch, seq, ctr, inc, tag }), null, 'the stamp fields swapped');
  assert.ok(s.verify({ tag, type, from, epoch, seq, inc, ctr }), 'the tag moved to the front');
});

test('a replay verifies (a tag proves origin, not freshness): the stamp is what lets receivers refuse it', () => {
  const s = createSigner(SECRET, INC);
  const once = wire(s.sign(commit));
  const first = s.verify(once);
  const again = s.verify(once);
  assert.equal(again, first);
  assert.equal(again?.stamp, { inc: INC, ctr: 1 }, 'the same stamp twice: freshness (bus/freshness.spec) refuses the second');
});

test('a validly tagged message without a usable stamp verifies with stamp null (the inbox refuses it as malformed)', () => {
  // Tagged by hand, as a member of an older version (no stamp) or a buggy one would.
  const tagOf = (o: object): string => createHmac('sha256', SECRET).update(JSON.stringify(o)).digest().subarray(0, 16).toString('hex');
  const s = createSigner(SECRET, INC);
  assert.equal(s.verify({ ...commit, tag: tagOf(commit) }), { message: commit, stamp: null }, 'no stamp');
  for (const [inc, ctr] of [
    ['xyz', 1],
    [INC.toUpperCase(), 1],
    [INC, 0],
    [INC, 1.5],
    [INC, '2'],
  ] as const) {
    const m = { ...commit, inc, ctr };
    assert.equal(s.verify({ ...m, tag: tagOf(m) }), { message: commit, stamp: null }, `inc ${inc}, ctr ${ctr}`);
  }
});

test('an instance without a secret signs nothing and verifies any object, with no stamp', () => {
  assert.not.ok(openSigner.authenticated);
  assert.equal(openSigner.sign(commit), commit);
  assert.equal(openSigner.verify(commit), { message: commit, stamp: null });
  assert.is(openSigner.verify(null), null);
});

test('an incarnation is 16 hex digits (a wiring error otherwise)', () => {
  assert.throws(() => createSigner(SECRET, 'short'));
});

test.run();
