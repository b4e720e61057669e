import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { filter, takeUntil, timer, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  heartbeatActor,
  heartbeatTransition,
  initialHeartbeat,
  type HeartbeatConfig,
  type HeartbeatInput,
  type HeartbeatOutput,
  type HeartbeatState,
  type Keepalive,
  type LiveEntry,
  type SelfStatus,
} from '../../actors/heartbeat.js';
import type { Role } from '../../src/bus/messages.js';
import { clusterTiming } from '../../src/domain/timing.js';

/** The durations of a cluster with this keepalive period, as the tracker derives them. */
const timing = (heartbeatMs: number) => clusterTiming({ heartbeatMs, voteTimeoutMs: 500, clustered: true });
// One marble frame is 1 ms: beats at 0, 100, 200, …; liveness checks every 12 ms (an eighth, rounded down): 12, 24, 36, …
const cfg: HeartbeatConfig = { self: 5, nonce: 'self-nonce', startedAt: 1000, timing: timing(100) };
const ts = (): TestScheduler => new TestScheduler((a, b) => assert.equal(a, b));
type In = HeartbeatInput;

/** A keepalive from instance `from` (defaults: a synced slave at epoch 1). */
const ka = (from: number, over: Partial<Keepalive> = {}): Keepalive => ({
  type: 'keepalive',
  from,
  epoch: 1,
  role: 'slave',
  synced: true,
  nonce: `nonce-${from}`,
  applied: 0,
  startedAt: 500,
  ...over,
});
const heard = (msg: Keepalive, now: number): In => ({ type: 'keepalive', msg, now });
const entry = (m: Keepalive, lastSeen: number): LiveEntry => ({
  id: m.from,
  role: m.role,
  synced: m.synced,
  epoch: m.epoch,
  applied: m.applied,
  lastSeen,
  nonce: m.nonce,
  startedAt: m.startedAt,
});
/** What we publish, for a given own status. */
const ours = (status: SelfStatus = { role: 'starting', synced: false, epoch: 0, applied: 0 }): HeartbeatOutput => ({
  type: 'send-keepalive',
  msg: {
    type: 'keepalive',
    from: 5,
    epoch: status.epoch,
    role: status.role,
    synced: status.synced,
    nonce: 'self-nonce',
    applied: status.applied,
    startedAt: 1000,
  },
});
/** Membership outputs only (no own keepalives, no `seen` refreshes), to keep marbles about the live set readable. */
const noBeats = (o$: Observable<HeartbeatOutput>): Observable<HeartbeatOutput> =>
  o$.pipe(filter((o) => o.type !== 'send-keepalive' && o.type !== 'seen'));

test('a keepalive goes out at once and then every interval, carrying the latest status', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const st: SelfStatus = { role: 'slave', synced: true, epoch: 3, applied: 42 };
    const input = hot<In>('150ms u', { u: { type: 'status', status: st } });
    expectObservable(heartbeatActor(input, { config: cfg, scheduler: s }), '^ 349ms !').toBe('k 99ms k 99ms n 99ms n', {
      k: ours(),
      n: ours(st),
    });
  });
});

test('with a shorter interval the keepalives follow it (the interval is not hard-coded)', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    expectObservable(heartbeatActor(hot<In>('-'), { config: { ...cfg, timing: timing(40) }, scheduler: s }), '^ 100ms !').toBe(
      'k 39ms k 39ms k',
      { k: ours() },
    );
  });
});

test('an instance heard and then silent is down after 2 intervals, noticed within the next eighth of an interval', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    // Heard at 50: still live at the check at 240, down at the first check past 2 intervals (252).
    const m = ka(2);
    const input = hot<In>('50ms a', { a: heard(m, 50) });
    expectObservable(noBeats(heartbeatActor(input, { config: cfg, scheduler: s })), '^ 400ms !').toBe('50ms l 201ms (dx)', {
      l: { type: 'live', live: [entry(m, 50)] },
      d: { type: 'down', entry: entry(m, 50) },
      x: { type: 'live', live: [] },
    });
  });
});

test('down is reported between 2 and 2.125 intervals after the last keepalive, whatever its phase', () => {
  for (const at of [1, 10, 24, 26, 49, 60, 99]) {
    const s = ts();
    let downAt = -1;
    s.run(({ hot }) => {
      const input = hot<In>(`${at}ms a`, { a: heard(ka(2), at) });
      heartbeatActor(input, { config: cfg, scheduler: s })
        .pipe(takeUntil(timer(600)))
        .subscribe((o) => {
          if (o.type === 'down') downAt = s.now();
        });
    });
    assert.ok(downAt > at + 200 && downAt <= at + 200 + 100 / 8, `heard at ${at}, down at ${downAt}`);
  }
});

test('keepalives keep an instance live; identical repeats are silent; only the silent one goes down', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const two = ka(2);
    const three = ka(3);
    const input = hot<In>('10ms a 9ms b 129ms c 139ms d', {
      a: heard(two, 10),
      b: heard(three, 20),
      c: heard(two, 150),
      d: heard(two, 290),
    });
    // 3 (last heard at 20) is down at the check at 228; 2 keeps being refreshed.
    expectObservable(noBeats(heartbeatActor(input, { config: cfg, scheduler: s })), '^ 480ms !').toBe('10ms l 9ms m 207ms (dx)', {
      l: { type: 'live', live: [entry(two, 10)] },
      m: { type: 'live', live: [entry(two, 10), entry(three, 20)] },
      d: { type: 'down', entry: entry(three, 20) },
      x: { type: 'live', live: [entry(two, 150)] },
    });
  });
});

test('the live list is sorted by id and re-sent when role, synced, epoch or applied change, not on identical repeats', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const one = ka(1, { role: 'starting', synced: false, epoch: 0 });
    const three = ka(3, { role: 'master', epoch: 4 });
    const seven = ka(7);
    const oneR = { ...one, role: 'syncing' as Role };
    const oneS = { ...oneR, synced: true };
    const oneE = { ...oneS, epoch: 4 };
    const oneA = { ...oneE, applied: 9 };
    const input = hot<In>('10ms a b c d e f g h i', {
      a: heard(seven, 10),
      b: heard(three, 11),
      c: heard(one, 12),
      d: heard(three, 13),
      e: heard(one, 14),
      f: heard(oneR, 15),
      g: heard(oneS, 16),
      h: heard(oneE, 17),
      i: heard(oneA, 18),
    });
    expectObservable(noBeats(heartbeatActor(input, { config: cfg, scheduler: s })), '^ 30ms !').toBe('10ms a b c --f g h i', {
      a: { type: 'live', live: [entry(seven, 10)] },
      b: { type: 'live', live: [entry(three, 11), entry(seven, 10)] },
      c: { type: 'live', live: [entry(one, 12), entry(three, 11), entry(seven, 10)] },
      f: { type: 'live', live: [entry(oneR, 15), entry(three, 13), entry(seven, 10)] },
      g: { type: 'live', live: [entry(oneS, 16), entry(three, 13), entry(seven, 10)] },
      h: { type: 'live', live: [entry(oneE, 17), entry(three, 13), entry(seven, 10)] },
      i: { type: 'live', live: [entry(oneA, 18), entry(three, 13), entry(seven, 10)] },
    });
  });
});

test('a restarted instance (same id, new nonce) is reported as a change of the live set', () => {
  const t = heartbeatTransition(cfg);
  const [s1] = t(initialHeartbeat(), heard(ka(2), 10));
  const [, same] = t(s1, heard(ka(2), 20));
  assert.equal(same, [{ type: 'seen', live: [entry(ka(2), 20)] }], 'an identical repeat only refreshes last-seen');
  const restarted = ka(2, { nonce: 'other', startedAt: 900 });
  const [, out] = t(s1, heard(restarted, 30));
  assert.equal(out, [{ type: 'live', live: [entry(restarted, 30)] }]);
});

test('after a pause (a check due long ago), nobody is judged until our own keepalive sent since comes back', () => {
  const me = { ...cfg, watchEcho: true };
  const t = heartbeatTransition(me);
  const self = ka(5, { nonce: 'self-nonce', startedAt: 1000 });
  // Heard instance 2 at 10, our own keepalive at 20 (sent at 15), checked at 24; then nothing ran until 400.
  let [s] = t(initialHeartbeat(), heard(ka(2), 10));
  [s] = t(s, { type: 'beat', now: 15 });
  [s] = t(s, heard(self, 20));
  [s] = t(s, { type: 'check', now: 24 });
  const [paused, atResume] = t(s, { type: 'check', now: 400 });
  assert.equal(atResume, [], 'instance 2, silent for 390 ms by our stale view, is not declared down');
  // What the broker kept: instance 2's keepalives, then the echo of our first keepalive after the pause.
  let [r] = t(paused, heard(ka(2), 401));
  [r] = t(r, { type: 'beat', now: 402 });
  const [back, echoed] = t(r, heard(self, 405));
  assert.equal(echoed, []);
  assert.is(back.pausedAt, null);
  assert.equal(t(back, { type: 'check', now: 410 })[1], [], 'heard since the pause: alive');
  // Without the pause (checks every 12 ms), the same silence is judged at once.
  const steady = { ...s, checkedAt: 390 };
  const [, judged] = t(steady, { type: 'check', now: 400 });
  assert.equal(
    judged.map((o) => o.type),
    ['down', 'live'],
  );
});

test('after a pause, an echo of a keepalive sent before it does not end the wait', () => {
  const t = heartbeatTransition({ ...cfg, watchEcho: true });
  const self = ka(5, { nonce: 'self-nonce', startedAt: 1000 });
  let [s] = t(initialHeartbeat(), heard(ka(2), 10));
  [s] = t(s, { type: 'beat', now: 15 });
  [s] = t(s, { type: 'check', now: 24 });
  [s] = t(s, { type: 'check', now: 400 });
  const [late] = t(s, heard(self, 401)); // sent at 15, delivered after the pause
  assert.is(late.pausedAt, 400);
  assert.equal(t(late, { type: 'check', now: 410 })[1], []);
});

test('every identical keepalive is reported as `seen` with a fresh last-seen time (keepalive ages on displays)', () => {
  const t = heartbeatTransition(cfg);
  const [s1, first] = t(initialHeartbeat(), heard(ka(2), 10));
  assert.equal(first, [{ type: 'live', live: [entry(ka(2), 10)] }]);
  const [s2, second] = t(s1, heard(ka(2), 110));
  assert.equal(second, [{ type: 'seen', live: [entry(ka(2), 110)] }]);
  assert.is(s2.live.get(2)!.lastSeen, 110);
});

test('mute stops the keepalives, clears the live set and ignores what is heard; unmute sends one at once, then beats on', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const two = ka(2);
    const input = hot<In>('10ms a 39ms m 59ms b 119ms u 79ms c', {
      a: heard(two, 10),
      m: { type: 'mute', muted: true },
      b: heard(two, 110),
      u: { type: 'mute', muted: false },
      c: heard(two, 310),
    });
    // No down for the forgotten instance (at 225 or later), nothing while muted, a keepalive as soon as unmuted
    // (at 230: the others resuming after a broker switch hear us at once), the beats on, heard again from scratch.
    expectObservable(heartbeatActor(input, { config: cfg, scheduler: s }), '^ 450ms !').toBe('k 9ms l 39ms e 179ms k 69ms k 9ms n 89ms k', {
      k: ours(),
      l: { type: 'live', live: [entry(two, 10)] },
      e: { type: 'live', live: [] },
      n: { type: 'live', live: [entry(two, 310)] },
    });
  });
});

test('muting with nobody live emits nothing', () => {
  const [st, out] = heartbeatTransition(cfg)(initialHeartbeat(), { type: 'mute', muted: true });
  assert.equal(out, []);
  assert.ok(st.muted);
  const [, beat] = heartbeatTransition(cfg)(st, { type: 'beat', now: 100 });
  assert.equal(beat, []);
});

test('our own keepalive echoed by the topic (same id and nonce) is ignored', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const echo = ka(5, { nonce: 'self-nonce', role: 'starting', synced: false, epoch: 0, startedAt: 1000 });
    const two = ka(2);
    const input = hot<In>('10ms e 9ms a 9ms e', { e: heard(echo, 10), a: heard(two, 20) });
    expectObservable(noBeats(heartbeatActor(input, { config: cfg, scheduler: s })), '^ 100ms !').toBe('20ms l', {
      l: { type: 'live', live: [entry(two, 20)] },
    });
  });
});

test('another instance with our id: while we are starting we give way to a running one; once running we do not', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const running = ka(5, { nonce: 'theirs', role: 'master', startedAt: 2000 });
    const input = hot<In>('10ms a 9ms r 9ms b 9ms p', {
      a: heard(running, 10),
      r: { type: 'status', status: { role: 'slave', synced: true, epoch: 1, applied: 0 } },
      b: heard(running, 30),
      p: heard(ka(2), 40),
    });
    // The duplicate never enters the live set: the next live list holds instance 2 only.
    expectObservable(noBeats(heartbeatActor(input, { config: cfg, scheduler: s })), '^ 100ms !').toBe('10ms a 19ms b 9ms p', {
      a: { type: 'duplicate', other: entry(running, 10), mine: true },
      b: { type: 'duplicate', other: entry(running, 30), mine: false },
      p: { type: 'live', live: [entry(ka(2), 40)] },
    });
  });
});

test('duplicate id while both are starting: the later start gives way; on a tie, the larger nonce gives way', () => {
  const t = heartbeatTransition(cfg); // we started at 1000 with nonce 'self-nonce'
  const starting = initialHeartbeat();
  const mine = (st: HeartbeatState, over: Partial<Keepalive>): boolean => {
    const [next, out] = t(st, heard(ka(5, { role: 'starting', synced: false, epoch: 0, ...over }), 77));
    assert.is(out.length, 1);
    assert.is(next.live.size, 0);
    const o = out[0]!;
    assert.is(o.type, 'duplicate');
    return (o as { mine: boolean }).mine;
  };
  assert.is(mine(starting, { nonce: 'x', startedAt: 900 }), true, 'they started earlier');
  assert.is(mine(starting, { nonce: 'x', startedAt: 1100 }), false, 'they started later');
  assert.is(mine(starting, { nonce: 'a-smaller', startedAt: 1000 }), true, 'tie, their nonce is smaller');
  assert.is(mine(starting, { nonce: 'z-larger', startedAt: 1000 }), false, 'tie, their nonce is larger');
  assert.is(mine(starting, { nonce: 'x', startedAt: 1100, role: 'syncing' }), true, 'they are past starting');
  for (const role of ['master', 'slave', 'syncing', 'electing'] as const) {
    const [running] = t(starting, { type: 'status', status: { role, synced: role !== 'syncing', epoch: 1, applied: 0 } });
    assert.is(mine(running, { nonce: 'x', startedAt: 10 }), false, `we are ${role}`);
    assert.is(mine(running, { nonce: 'x', startedAt: 10, role: 'master' }), false, `we are ${role}, they are master`);
  }
});

test('a muted instance ignores keepalives, even one using our id', () => {
  const t = heartbeatTransition(cfg);
  const [muted] = t(initialHeartbeat(), { type: 'mute', muted: true });
  assert.equal(t(muted, heard(ka(5, { nonce: 'theirs' }), 10))[1], []);
  const [st, out] = t(muted, heard(ka(2), 10));
  assert.equal(out, []);
  assert.is(st.live.size, 0);
});

test('a Master whose last keepalive is not back within 0.4 interval is cut off; an echo ends it', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const me = { ...cfg, watchEcho: true };
    const echo = (now: number): In => heard((ours() as { msg: Keepalive }).msg, now);
    // A Master; beats every 100, echoes of the beats at 0 and 100; the beat at 200 is not back by the check at 252
    // (52 > 40): cut off; an echo at 395 ends it (the run stops before the beat at 400 is overdue).
    const master: In = { type: 'status', status: { role: 'master', synced: true, epoch: 1, applied: 0 } };
    const input = hot<In>('(ma) 96ms b 294ms c', { m: master, a: echo(0), b: echo(100), c: echo(395) });
    const cuts = heartbeatActor(input, { config: me, scheduler: s }).pipe(filter((o) => o.type === 'cut-off'));
    expectObservable(cuts, '^ 440ms !').toBe('252ms x 142ms y', { x: { type: 'cut-off', cut: true }, y: { type: 'cut-off', cut: false } });
  });
});

test('a Slave, or an instance without the echo watch (alone), is never cut off by silence', () => {
  const s0 = ts();
  s0.run(({ hot, expectObservable }) => {
    const slave: In = { type: 'status', status: { role: 'slave', synced: true, epoch: 1, applied: 0 } };
    const input = hot<In>('(ma)', { m: slave, a: heard((ours() as { msg: Keepalive }).msg, 0) });
    expectObservable(
      heartbeatActor(input, { config: { ...cfg, watchEcho: true }, scheduler: s0 }).pipe(filter((o) => o.type === 'cut-off')),
      '^ 1000ms !',
    ).toBe('');
  });
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('5ms a', { a: heard((ours() as { msg: Keepalive }).msg, 5) });
    expectObservable(heartbeatActor(input, { config: cfg, scheduler: s }).pipe(filter((o) => o.type === 'cut-off')), '^ 1000ms !').toBe('');
  });
});

test('a Slave that does not hear itself when its Master falls silent is cut off instead of declaring it down', () => {
  const slave: In = { type: 'status', status: { role: 'slave', synced: true, epoch: 1, applied: 0 } };
  const me = { ...cfg, watchEcho: true };
  const own = (now: number): In => heard((ours({ role: 'slave', synced: true, epoch: 1, applied: 0 }) as { msg: Keepalive }).msg, now);
  const master = ka(3, { role: 'master' });
  const judged = (o: HeartbeatOutput): boolean => o.type === 'cut-off' || o.type === 'down';
  // A stalled broker: the Master last heard at 5, our own beats echoed up to the one at 100; the beat at 200 never
  // comes back. The Master would be down at the check at 216 (silent > 200); our beat of 200 is then only 16 ms
  // out (timeout 40): wait; at 252 it is overdue: cut off, and nobody is declared down before that.
  const s1 = ts();
  s1.run(({ hot, expectObservable }) => {
    const input = hot<In>('(ae) 3ms m 95ms b', { a: slave, e: own(0), m: heard(master, 5), b: own(100) });
    expectObservable(heartbeatActor(input, { config: me, scheduler: s1 }).pipe(filter(judged)), '^ 300ms !').toBe('252ms (cd)', {
      c: { type: 'cut-off', cut: true },
      d: { type: 'down', entry: entry(master, 5) },
    });
  });
  // The broker carries us (the beat of 200 back at 203): the Master is declared down at the first check after.
  const s2 = ts();
  s2.run(({ hot, expectObservable }) => {
    const input = hot<In>('(ae) 3ms m 95ms b 102ms c', { a: slave, e: own(0), m: heard(master, 5), b: own(100), c: own(203) });
    expectObservable(heartbeatActor(input, { config: me, scheduler: s2 }).pipe(filter(judged)), '^ 300ms !').toBe('216ms d', {
      d: { type: 'down', entry: entry(master, 5) },
    });
  });
});

test.run();
