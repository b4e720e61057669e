/** Freshness of signed messages: counters per sender incarnation, new incarnations only through a keepalive of a later start. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Arrival, admit, createFreshness, type FreshnessState, initialFreshness } from '../../src/bus/freshness.js';

const SELF = 2;
const OWN = '2222222222222222';
const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const C = 'cccccccccccccccc';
/** A message of sender `from`, incarnation `inc`, counter `ctr`; a keepalive when `startedAt` is given. */
const msg = (from: number, inc: string, ctr: number, startedAt: number | null = null): Arrival => ({
  from,
  stamp: { inc, ctr },
  startedAt,
});
const fresh = () => createFreshness(SELF, { inc: OWN, startedAt: 5000 });

test('a counter must go up: the same or a lower one is replayed, gaps are fine (the broker leaves some out)', () => {
  const f = fresh();
  assert.is(f.admit(msg(3, A, 1, 1000)), 'fresh');
  assert.is(f.admit(msg(3, A, 2)), 'fresh');
  assert.is(f.admit(msg(3, A, 2)), 'replayed');
  assert.is(f.admit(msg(3, A, 1, 1000)), 'replayed');
  assert.is(f.admit(msg(3, A, 10)), 'fresh', 'votes addressed to others never reach us: gaps');
  assert.is(f.admit(msg(3, A, 9)), 'replayed', 'late and out of order counts as replayed');
  assert.is(f.admit(msg(3, A, 11, 1000)), 'fresh');
});

test('replaying a recorded stream, whole or in part, in order or not: every message refused once heard', () => {
  const f = fresh();
  const recorded = [1, 2, 3, 4, 5, 6].map((c) => msg(3, A, c, 1000));
  for (const m of recorded) assert.is(f.admit(m), 'fresh');
  for (const m of [...recorded, ...recorded.reverse()]) assert.is(f.admit(m), 'replayed');
});

test('senders are independent; the first message of a sender never heard is believed, of any kind', () => {
  const f = fresh();
  assert.is(f.admit(msg(3, A, 50)), 'fresh', 'a COORDINATOR before any keepalive (a joiner hears the Master mid-stream)');
  assert.is(f.admit(msg(1, B, 1)), 'fresh');
  assert.is(f.admit(msg(1, B, 1)), 'replayed');
  assert.is(f.admit(msg(3, A, 51)), 'fresh');
});

test('a restarted instance (same ID, later start) is heard through its first keepalive, at once', () => {
  const f = fresh();
  assert.is(f.admit(msg(3, A, 1, 1000)), 'fresh');
  assert.is(f.admit(msg(3, A, 40)), 'fresh');
  assert.is(f.admit(msg(3, B, 1, 9000)), 'fresh', 'keepalive of the new start');
  assert.is(f.admit(msg(3, B, 2)), 'fresh', 'then its election messages, votes, …');
});

test('a new incarnation of a known sender is refused outside the join path: unknown-sender', () => {
  const f = fresh();
  assert.is(f.admit(msg(3, A, 1, 1000)), 'fresh');
  assert.is(f.admit(msg(3, B, 1)), 'unknown-sender', 'a COMMIT of an incarnation that never sent a keepalive');
  assert.is(f.admit(msg(3, B, 2, 9000)), 'fresh', 'its keepalive first: then it is heard');
  assert.is(f.admit(msg(3, B, 3)), 'fresh');
});

test('after a newer start was heard, an older incarnation is refused: its keepalives as replayed, however fresh their counters', () => {
  const f = fresh();
  // The receiver never heard A (it started later); a stranger replays A's recording after B is known.
  assert.is(f.admit(msg(3, B, 1, 9000)), 'fresh');
  assert.is(f.admit(msg(3, A, 1, 1000)), 'replayed');
  assert.is(f.admit(msg(3, A, 500, 1000)), 'replayed');
  assert.is(f.admit(msg(3, A, 501)), 'unknown-sender');
  // A start that is not later than the newest heard is not a new start either.
  assert.is(f.admit(msg(3, C, 1, 9000)), 'replayed');
});

test('an older incarnation heard before keeps its own counter beside the newer one (a duplicate start must not silence the live one)', () => {
  const f = fresh();
  assert.is(f.admit(msg(3, A, 1, 1000)), 'fresh');
  assert.is(f.admit(msg(3, B, 1, 9000)), 'fresh', 'someone starts a second 3 by mistake');
  assert.is(f.admit(msg(3, A, 2, 1000)), 'fresh', 'the live 3 goes on');
  assert.is(f.admit(msg(3, A, 2, 1000)), 'replayed');
  assert.is(f.admit(msg(3, B, 2, 9000)), 'fresh');
});

test('our own incarnation is known from the start: a replay of our own keepalive cannot fake the echo', () => {
  const f = fresh();
  assert.is(f.admit(msg(SELF, OWN, 1, 5000)), 'fresh', 'our echo');
  assert.is(f.admit(msg(SELF, OWN, 1, 5000)), 'replayed');
  assert.is(f.admit(msg(SELF, OWN, 2)), 'fresh');
});

test('another holder of our ID is heard through its keepalives whatever its start (the duplicate-ID guard needs it)', () => {
  const f = fresh();
  assert.is(f.admit(msg(SELF, A, 7, 1000)), 'fresh', 'an older live instance with our ID: we are the newcomer and must see it');
  assert.is(f.admit(msg(SELF, A, 7, 1000)), 'replayed');
  assert.is(f.admit(msg(SELF, B, 1)), 'unknown-sender', 'not through a keepalive');
});

test('bounded: at most maxIncarnations per sender and maxSenders senders; our own incarnation is never forgotten', () => {
  const limits = { maxSenders: 3, maxIncarnations: 2 };
  let s: FreshnessState = initialFreshness(SELF, { inc: OWN, startedAt: 5000 });
  const step = (a: Arrival): string => {
    const [next, v] = admit(s, a, limits);
    s = next;
    return v;
  };
  const incs = ['1111111111111111', '3333333333333333', '4444444444444444', '5555555555555555'];
  for (const [i, inc] of incs.entries()) assert.is(step(msg(3, inc, 1, 1000 * (i + 1))), 'fresh');
  assert.is(s.senders.get(3)!.length, 2);
  // Forgotten incarnations stay refused: their keepalives are older starts, anything else is unknown.
  assert.is(step(msg(3, incs[0]!, 2, 1000)), 'replayed');
  assert.is(step(msg(3, incs[0]!, 3)), 'unknown-sender');
  for (const id of [10, 11, 12, 13]) assert.is(step(msg(id, A, 1, 1000)), 'fresh');
  assert.is(s.senders.size, 3);
  assert.ok(s.senders.has(SELF), 'our own entry stays');
  // Our own ID under many foreign incarnations: ours is kept.
  for (const inc of incs) step(msg(SELF, inc, 1, 1));
  assert.ok(s.senders.get(SELF)!.some((h) => h.inc === OWN));
  assert.is(step(msg(SELF, OWN, 1)), 'fresh');
  assert.is(step(msg(SELF, OWN, 1)), 'replayed');
});

test('admit is pure: the state given is never changed, a refusal returns it as it was', () => {
  const s0 = initialFreshness(SELF, { inc: OWN, startedAt: 5000 });
  const before = JSON.stringify([...s0.senders]);
  const [s1, v1] = admit(s0, msg(3, A, 1, 1000));
  assert.is(v1, 'fresh');
  assert.is(JSON.stringify([...s0.senders]), before);
  const [s2, v2] = admit(s1, msg(3, A, 1, 1000));
  assert.is(v2, 'replayed');
  assert.is(s2, s1);
});

test.run();
