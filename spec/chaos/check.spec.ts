/**
 * The chaos run's pure parts: the seeded schedule (same seed, same faults; every kind once per round) and the
 * checker's rules on hand-made records (a transaction ID answered twice, a stray reply, a reply from elsewhere,
 * two Masters in one epoch, a lost acknowledged announce, a late recovery).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { check, epochsFromLogs, type AtRest, type FaultResult } from '../../scripts/chaos/check.js';
import type { LoadRecord, Request } from '../../scripts/chaos/load.js';
import { CATALOGUE, KINDS, schedule } from '../../scripts/chaos/schedule.js';

const SERVICE = '10.0.0.100:6969';
const req = (tid: number, replies: Array<{ at: number; from?: string }>): Request => ({
  client: 0,
  tid,
  kind: 'announce',
  sentAt: 0,
  peerId: `p${tid}`,
  replies: replies.map((r) => ({ at: r.at, action: 'announce', from: r.from ?? SERVICE })),
});
const record = (reqs: Request[], strays: LoadRecord['strays'] = []): LoadRecord => ({
  requests: new Map(reqs.map((r) => [`0:${r.tid}`, r])),
  strays,
  acks: reqs.filter((r) => r.replies.length).map((r) => ({ peerId: r.peerId!, sentAt: r.sentAt, at: r.replies[0]!.at })),
  target: SERVICE,
});
const rest: AtRest = { live: 3, digestsEqual: true, missing: [{ id: 1, count: 0, sample: [] }], masters: 1 };
const fault = (recoveryMs: number | null, wholeMs: number | null = 100): FaultResult => ({
  fault: { kind: 'kill-master', holdMs: 0, pick: 0, gapMs: 0 },
  target: 'tracker 3',
  at: 0,
  boundMs: 3000,
  recoveryMs,
  wholeMs,
});
const logOf = (id: number, lines: string[]): { id: number; text: string } => ({
  id,
  text: lines.map((l) => `2026-11-30T00:00:00.000Z [tracker ${id}] ${l}`).join('\n'),
});
const failed = (vs: ReturnType<typeof check>): string[] => vs.filter((v) => !v.ok).map((v) => v.rule);

test('the schedule: the same seed gives the same faults; each kind once per round of the catalogue', () => {
  assert.equal(schedule(42, 20, { kinds: KINDS }), schedule(42, 20, { kinds: KINDS }));
  assert.not.equal(schedule(42, 8, { kinds: KINDS }), schedule(43, 8, { kinds: KINDS }));
  const s = schedule(5, 2 * KINDS.length, { kinds: KINDS });
  assert.equal(
    s
      .slice(0, KINDS.length)
      .map((f) => f.kind)
      .sort(),
    [...KINDS].sort(),
  );
  assert.equal(
    s
      .slice(KINDS.length)
      .map((f) => f.kind)
      .sort(),
    [...KINDS].sort(),
  );
  for (const f of s) {
    const h = CATALOGUE[f.kind].hold;
    assert.ok(h ? f.holdMs >= h[0] && f.holdMs <= h[1] : f.holdMs === 0, `${f.kind} hold ${f.holdMs}`);
  }
});

test('a clean record passes every rule', () => {
  const logs = [
    logOf(3, ['role master (epoch 1, master 3)', 'holding the service address udp://x']),
    logOf(2, ['role slave (epoch 1, master 3)']),
  ];
  assert.equal(failed(check(record([req(1, [{ at: 5 }]), req(2, [])]), logs, [fault(2000)], rest)), []);
});

test('a transaction ID answered twice, a stray reply, a reply from another address', () => {
  const twice = check(record([req(1, [{ at: 5 }, { at: 9 }])]), [], [], rest);
  assert.equal(failed(twice), ['no request answered twice, no reply to a request never sent']);
  const stray = check(record([req(1, [{ at: 5 }])], [{ at: 7, action: 'announce', from: SERVICE }]), [], [], rest);
  assert.equal(failed(stray), ['no request answered twice, no reply to a request never sent']);
  const elsewhere = check(record([req(1, [{ at: 5, from: '10.0.0.13:6969' }])]), [], [], rest);
  assert.equal(failed(elsewhere), ['every reply from the service address']);
});

test('two Masters of one epoch, or two holders of the service address in one epoch', () => {
  const two = [logOf(3, ['role master (epoch 4, master 3)']), logOf(2, ['role master (epoch 4, master 2)'])];
  assert.equal([...epochsFromLogs(two).masters.get(4)!].sort(), [2, 3]);
  assert.equal(failed(check(record([]), two, [], rest)), ['at most one Master (and one holder of the service address) per epoch']);
  // An instance that takes the address while its last role line still names the other's epoch.
  const held = [
    logOf(3, ['role master (epoch 4, master 3)', 'holding the service address udp://x']),
    logOf(2, ['role slave (epoch 4, master 3)', 'holding the service address udp://x']),
  ];
  assert.equal([...epochsFromLogs(held).holders.get(4)!].sort(), [2, 3]);
  assert.equal(failed(check(record([]), held, [], rest)).length, 1);
  // Successive epochs with different Masters are fine.
  const ok = [logOf(3, ['role master (epoch 1, master 3)']), logOf(2, ['role master (epoch 2, master 2)'])];
  assert.equal(failed(check(record([]), ok, [], rest)), []);
});

test('a lost acknowledged announce, differing repositories, no Master, a late or missing recovery, a slow heal', () => {
  const rule1 = 'every acknowledged announce in every live repository at rest; identical repositories; one Master';
  const lost = { ...rest, missing: [{ id: 2, count: 1, sample: ['p1'] }] };
  assert.equal(failed(check(record([req(1, [{ at: 5 }])]), [], [], lost)), [rule1]);
  assert.equal(failed(check(record([]), [], [], { ...rest, digestsEqual: false })), [rule1]);
  assert.equal(failed(check(record([]), [], [], { ...rest, masters: 0 })), [rule1]);
  const rule5 = 'after each fault, an announce sent after it acknowledged within its bound';
  assert.equal(failed(check(record([]), [], [fault(3001)], rest)), [rule5]);
  assert.equal(failed(check(record([]), [], [fault(null)], rest)), [rule5]);
  // Served again right after the fault, but dark after the repair: caught by rule 6.
  const rule6 = 'after each repair, the cluster whole again within 10 s';
  assert.equal(failed(check(record([]), [], [fault(5, null)], rest)), [rule6]);
  assert.equal(failed(check(record([]), [], [fault(5, 10_001)], rest)), [rule6]);
  assert.equal(failed(check(record([]), [], [fault(5, 10_000)], rest)), []);
});

test('after a preload, a repository that does not hold every preloaded peer fails rule 1', () => {
  const rule1 = 'every acknowledged announce in every live repository at rest; identical repositories; one Master';
  const held = (counts: number[]) => ({ expected: 500_000, held: counts.map((count, i) => ({ id: i + 1, count })) });
  assert.equal(failed(check(record([]), [], [], { ...rest, preloaded: held([500_000, 500_000, 500_000]) })), []);
  const short = check(record([]), [], [], { ...rest, preloaded: held([500_000, 499_999, 500_000]) });
  assert.equal(failed(short), [rule1]);
  assert.match(short[0]!.detail, 'tracker 2 holds 499999');
});

test('join is in the catalogue: every round of the schedule has one, with a Slave bound', () => {
  assert.ok(KINDS.includes('join'));
  assert.is(CATALOGUE.join.boundMs(1000, 0), 1000);
  assert.is(CATALOGUE.join.hold, null);
  const s = schedule(20261204, 3 * KINDS.length, { kinds: KINDS });
  for (let r = 0; r < 3; r++) assert.is(s.slice(r * KINDS.length, (r + 1) * KINDS.length).filter((f) => f.kind === 'join').length, 1);
});

test.run();
