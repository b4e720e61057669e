import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { map, merge, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { batch } from '../../streams/batch.js';
import { consensusActor, consensusTransition, initialConsensus, type ConsensusInput } from '../../actors/consensus.js';

const cfg = { self: 1, maxBatch: 3, maxQueue: 5, voteTimeoutMs: 10 };
const ts = (): TestScheduler => new TestScheduler((a, b) => assert.equal(a, b));
type In = ConsensusInput<string>;

const master = (members: number[]): Record<string, In> => ({
  m: { type: 'members', members },
  r: { type: 'role', role: 'master', epoch: 4 },
});

test('a lone master commits each batch at once, in sequence', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('(mr)-a-----b', {
      ...master([1]),
      a: { type: 'propose', items: ['x', 'y'] },
      b: { type: 'propose', items: ['z'] },
    });
    expectObservable(consensusActor(input, { config: cfg, scheduler: s })).toBe('-----(pca)-(qdb)', {
      p: { type: 'send-prepare', epoch: 4, seq: 1, items: ['x', 'y'] },
      c: { type: 'send-commit', epoch: 4, seq: 1 },
      a: { type: 'apply', seq: 1, items: ['x', 'y'], lead: true },
      q: { type: 'send-prepare', epoch: 4, seq: 2, items: ['z'] },
      d: { type: 'send-commit', epoch: 4, seq: 2 },
      b: { type: 'apply', seq: 2, items: ['z'], lead: true },
    });
  });
});

test('three members: prepare, then commit on the second OK (a majority), before the timeout', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('(mr)-p--v', {
      ...master([1, 2, 3]),
      p: { type: 'propose', items: ['x'] },
      v: { type: 'vote', from: 3, epoch: 4, seq: 1, ok: true },
    });
    expectObservable(consensusActor(input, { config: cfg, scheduler: s })).toBe('-----p--(ca)', {
      p: { type: 'send-prepare', epoch: 4, seq: 1, items: ['x'] },
      a: { type: 'apply', seq: 1, items: ['x'], lead: true },
      c: { type: 'send-commit', epoch: 4, seq: 1 },
    });
  });
});

test('missing votes count as ERROR at the timeout: abort, clients rejected, sequence reused', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('(mr)-p', { ...master([1, 2, 3]), p: { type: 'propose', items: ['x'] } });
    expectObservable(consensusActor(input, { config: cfg, scheduler: s })).toBe('-----p 9ms (bj)', {
      p: { type: 'send-prepare', epoch: 4, seq: 1, items: ['x'] },
      b: { type: 'send-abort', epoch: 4, seq: 1 },
      j: { type: 'reject', items: ['x'], reason: 'not-committed' },
    });
  });
});

test('two ERROR votes of three abort at once; a vote from an old epoch is ignored', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('(mr)-p-o-e-f', {
      ...master([1, 2, 3]),
      p: { type: 'propose', items: ['x'] },
      o: { type: 'vote', from: 2, epoch: 3, seq: 1, ok: true },
      e: { type: 'vote', from: 2, epoch: 4, seq: 1, ok: false },
      f: { type: 'vote', from: 3, epoch: 4, seq: 1, ok: false },
    });
    expectObservable(consensusActor(input, { config: cfg, scheduler: s })).toBe('-----p-----(bj)', {
      p: { type: 'send-prepare', epoch: 4, seq: 1, items: ['x'] },
      b: { type: 'send-abort', epoch: 4, seq: 1 },
      j: { type: 'reject', items: ['x'], reason: 'not-committed' },
    });
  });
});

test('while a round is in flight, proposals queue into the next round (batched), and the queue is bounded', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('(mr)-a-b-c-v', {
      ...master([1, 2]),
      a: { type: 'propose', items: ['1'] },
      b: { type: 'propose', items: ['2', '3'] },
      c: { type: 'propose', items: ['4', '5', '6', '7'] },
      v: { type: 'vote', from: 2, epoch: 4, seq: 1, ok: true },
    });
    expectObservable(consensusActor(input, { config: cfg, scheduler: s })).toBe('-----a---j-(cxp) 5ms (bkq) 5ms (dl)', {
      a: { type: 'send-prepare', epoch: 4, seq: 1, items: ['1'] },
      j: { type: 'reject', items: ['7'], reason: 'busy' },
      x: { type: 'apply', seq: 1, items: ['1'], lead: true },
      c: { type: 'send-commit', epoch: 4, seq: 1 },
      p: { type: 'send-prepare', epoch: 4, seq: 2, items: ['2', '3', '4'] },
      b: { type: 'send-abort', epoch: 4, seq: 2 },
      k: { type: 'reject', items: ['2', '3', '4'], reason: 'not-committed' },
      q: { type: 'send-prepare', epoch: 4, seq: 2, items: ['5', '6'] },
      d: { type: 'send-abort', epoch: 4, seq: 2 },
      l: { type: 'reject', items: ['5', '6'], reason: 'not-committed' },
    });
  });
});

test('a slave stages on PREPARE, votes OK, and persists only on COMMIT', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('r-p--c', {
      r: { type: 'role', role: 'slave', epoch: 4 },
      p: { type: 'prepare', from: 9, epoch: 4, seq: 1, items: ['x'] },
      c: { type: 'commit', from: 9, epoch: 4, seq: 1 },
    });
    expectObservable(consensusActor(input, { config: { ...cfg, self: 2 }, scheduler: s })).toBe('--v--a', {
      v: { type: 'send-vote', epoch: 4, to: 9, seq: 1, ok: true },
      a: { type: 'apply', seq: 1, items: ['x'], lead: false },
    });
  });
});

test('a Slave whose mirror fails votes ERROR but stages the round: a COMMIT of the others applies it, no resync', () => {
  const t = consensusTransition<string>({ ...cfg, self: 2 });
  let s = t(initialConsensus<string>(), { type: 'role', role: 'slave', epoch: 4, master: 9 })[0];
  s = t(s, { type: 'health', ok: false })[0];
  const [staged, votes] = t(s, { type: 'prepare', from: 9, epoch: 4, seq: 1, items: ['x'] });
  assert.equal(votes, [{ type: 'send-vote', epoch: 4, to: 9, seq: 1, ok: false, error: { kind: 'cannot-store' } }]);
  assert.equal(t(staged, { type: 'commit', from: 9, epoch: 4, seq: 1 })[1], [{ type: 'apply', seq: 1, items: ['x'], lead: false }]);
  assert.equal(t(staged, { type: 'abort', from: 9, epoch: 4, seq: 1 })[0].staged, null);
});

test('a slave that sees a sequence gap votes ERROR and asks for resynchronisation; an aborted round is dropped', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('r-g----p-b-c', {
      r: { type: 'role', role: 'slave', epoch: 4 },
      g: { type: 'prepare', from: 9, epoch: 4, seq: 3, items: ['x'] },
      p: { type: 'prepare', from: 9, epoch: 4, seq: 1, items: ['y'] },
      b: { type: 'abort', from: 9, epoch: 4, seq: 1 },
      c: { type: 'commit', from: 9, epoch: 4, seq: 1 },
    });
    expectObservable(consensusActor(input, { config: { ...cfg, self: 2 }, scheduler: s })).toBe('--(gs)-v---z', {
      g: { type: 'send-vote', epoch: 4, to: 9, seq: 3, ok: false, error: { kind: 'gap', have: 0, got: 3 } },
      s: { type: 'resync', reason: { kind: 'gap', at: 1 } },
      v: { type: 'send-vote', epoch: 4, to: 9, seq: 1, ok: true },
      z: { type: 'resync', reason: { kind: 'commit-without-prepare', seq: 1 } },
    });
  });
});

test('losing the master role rejects everything in flight', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('(mr)-p-l', {
      ...master([1, 2, 3]),
      p: { type: 'propose', items: ['x'] },
      l: { type: 'role', role: 'slave', epoch: 5 },
    });
    expectObservable(consensusActor(input, { config: cfg, scheduler: s })).toBe('-----p-j', {
      p: { type: 'send-prepare', epoch: 4, seq: 1, items: ['x'] },
      j: { type: 'reject', items: ['x'], reason: 'failover' },
    });
  });
});

test('with a configured cluster size, a Master left with a minority aborts at the vote timeout; with a majority it commits', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    // Cluster of 3, only the Master live: nobody else votes, 1 OK of 3 is no majority: abort at the timeout (10).
    const input = hot<In>('(mr)-p', { ...master([1]), p: { type: 'propose', items: ['x'] } });
    expectObservable(consensusActor(input, { config: { ...cfg, clusterSize: 3 }, scheduler: s })).toBe('-----p 9ms (bj)', {
      p: { type: 'send-prepare', epoch: 4, seq: 1, items: ['x'] },
      b: { type: 'send-abort', epoch: 4, seq: 1 },
      j: { type: 'reject', items: ['x'], reason: 'not-committed' },
    });
  });
  const s2 = ts();
  s2.run(({ hot, expectObservable }) => {
    // Cluster of 3, the Master alone in its member list, but a Slave not yet counted votes OK: a majority.
    const input = hot<In>('(mr)-p--v', {
      ...master([1]),
      p: { type: 'propose', items: ['x'] },
      v: { type: 'vote', from: 2, epoch: 4, seq: 1, ok: true },
    });
    expectObservable(consensusActor(input, { config: { ...cfg, clusterSize: 3 }, scheduler: s2 })).toBe('-----p--(ca)', {
      p: { type: 'send-prepare', epoch: 4, seq: 1, items: ['x'] },
      c: { type: 'send-commit', epoch: 4, seq: 1 },
      a: { type: 'apply', seq: 1, items: ['x'], lead: true },
    });
  });
  const s3 = ts();
  s3.run(({ hot, expectObservable }) => {
    // Cluster of 3, two ERROR votes: no majority is possible any more: abort without waiting for the timeout.
    const input = hot<In>('(mr)-p-vw', {
      ...master([1, 2, 3]),
      p: { type: 'propose', items: ['x'] },
      v: { type: 'vote', from: 2, epoch: 4, seq: 1, ok: false },
      w: { type: 'vote', from: 3, epoch: 4, seq: 1, ok: false },
    });
    expectObservable(consensusActor(input, { config: { ...cfg, clusterSize: 3 }, scheduler: s3 })).toBe('-----p--(bj)', {
      p: { type: 'send-prepare', epoch: 4, seq: 1, items: ['x'] },
      b: { type: 'send-abort', epoch: 4, seq: 1 },
      j: { type: 'reject', items: ['x'], reason: 'not-committed' },
    });
  });
});

test('broker switch: a Master back in its own epoch sends its last COMMIT again; a COMMIT reaches a resuming Slave', () => {
  const t = consensusTransition<string>(cfg);
  let master = t(t(initialConsensus<string>(), { type: 'members', members: [1] })[0], { type: 'role', role: 'master', epoch: 4 })[0];
  master = t(master, { type: 'propose', items: ['x'] })[0];
  assert.is(master.applied, 1);
  const off = t(master, { type: 'role', role: 'off', epoch: 4 })[0];
  assert.equal(t(off, { type: 'role', role: 'master', epoch: 4 })[1], [{ type: 'send-commit', epoch: 4, seq: 1, again: true }]);

  const slave = consensusTransition<string>({ ...cfg, self: 2 });
  let s = slave(initialConsensus<string>(), { type: 'role', role: 'slave', epoch: 4 })[0];
  s = slave(s, { type: 'prepare', from: 1, epoch: 4, seq: 1, items: ['x'] })[0];
  s = slave(s, { type: 'role', role: 'off', epoch: 4 })[0];
  assert.equal(s.staged, { epoch: 4, seq: 1, items: ['x'], from: 1 }, 'the staged round survives the switch');
  assert.equal(slave(s, { type: 'commit', from: 1, epoch: 4, seq: 1 })[1], [{ type: 'apply', seq: 1, items: ['x'], lead: false }]);
});

test('a Slave takes rounds only from the Master it follows; a COMMIT applies only what that Master prepared', () => {
  const t = consensusTransition<string>({ ...cfg, self: 2 });
  let s = t(initialConsensus<string>(), { type: 'role', role: 'slave', epoch: 9, master: 3 })[0];
  // Instance 1 claimed epoch 9 too (it was cut off from 3): its PREPARE gets no vote and stages nothing.
  const [ignored, none] = t(s, { type: 'prepare', from: 1, epoch: 9, seq: 1, items: ['from 1'] });
  assert.equal([ignored.staged, none], [null, []]);
  s = t(s, { type: 'prepare', from: 3, epoch: 9, seq: 1, items: ['from 3'] })[0];
  assert.equal(t(s, { type: 'commit', from: 1, epoch: 9, seq: 1 })[1], [], "the other claimant's COMMIT applies nothing");
  assert.equal(t(s, { type: 'commit', from: 3, epoch: 9, seq: 1 })[1], [{ type: 'apply', seq: 1, items: ['from 3'], lead: false }]);
});

test('a new Master commits first the round it staged and never learnt the outcome of', () => {
  const t = consensusTransition<string>({ ...cfg, self: 2 });
  let s = t(initialConsensus<string>(), { type: 'role', role: 'slave', epoch: 4 })[0];
  s = t(s, { type: 'prepare', from: 3, epoch: 4, seq: 1, items: ['acked?'] })[0];
  s = t(s, { type: 'members', members: [2] })[0];
  const [after, out] = t(s, { type: 'role', role: 'master', epoch: 5 });
  assert.equal(out.slice(0, 1), [{ type: 'send-prepare', epoch: 5, seq: 1, items: ['acked?'] }]);
  assert.equal(after.applied, 1, 'alone it commits at once');
  // A staged round that is not the next one (older than what is applied) is dropped, not replayed.
  let stale = t(initialConsensus<string>(), { type: 'role', role: 'slave', epoch: 4 })[0];
  stale = { ...stale, applied: 3, staged: { epoch: 4, seq: 2, items: ['old'] } };
  assert.equal(t(stale, { type: 'role', role: 'master', epoch: 5 })[1], []);
});

test('group commit: idle, a round starts in the frame of its proposal; busy, what arrives gathers into the next round', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    // Announces one by one, as the data plane proposes them (a zero batch window: one frame's worth each).
    const announces = hot<string>('-----a-b-c-d------------------e');
    const control = hot<In>('(mr)--------v-------------------w', {
      ...master([1, 2]),
      v: { type: 'vote', from: 2, epoch: 4, seq: 1, ok: true },
      w: { type: 'vote', from: 2, epoch: 4, seq: 2, ok: true },
    });
    const propose$: Observable<In> = announces.pipe(
      batch(0, 100, s),
      map((items): In => ({ type: 'propose', items })),
    );
    const cfgWide = { ...cfg, maxBatch: 100, maxQueue: 100 };
    // a starts round 1 at once; b, c, d arrive while it is in flight and become round 2 the moment it commits; round 2
    // gets no vote and aborts at the timeout; e then finds nothing in flight and starts round 2 again at once.
    expectObservable(consensusActor(merge(control, propose$), { config: cfgWide, scheduler: s })).toBe(
      '-----a------(cxp)-----(bk)----q-(dy)',
      {
        a: { type: 'send-prepare', epoch: 4, seq: 1, items: ['a'] },
        c: { type: 'send-commit', epoch: 4, seq: 1 },
        x: { type: 'apply', seq: 1, items: ['a'], lead: true },
        p: { type: 'send-prepare', epoch: 4, seq: 2, items: ['b', 'c', 'd'] },
        b: { type: 'send-abort', epoch: 4, seq: 2 },
        k: { type: 'reject', items: ['b', 'c', 'd'], reason: 'not-committed' },
        q: { type: 'send-prepare', epoch: 4, seq: 2, items: ['e'] },
        d: { type: 'send-commit', epoch: 4, seq: 2 },
        y: { type: 'apply', seq: 2, items: ['e'], lead: true },
      },
    );
  });
});

test.run();
