import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defer, filter, map, merge, mergeMap, of, share, Subject, takeUntil, timer, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { runActor } from '../../actors/actor.js';
import { electionTransition, type ElectionInput, type ElectionState } from '../../actors/election.js';
import { heartbeatActor, type HeartbeatInput, type Keepalive } from '../../actors/heartbeat.js';
import { clusterTiming, DOWN_AFTER_INTERVALS, safetyMargins, unsafeRules, type ClusterTiming } from '../../src/domain/timing.js';

const clustered = (heartbeatMs: number, voteTimeoutMs = 500): ClusterTiming =>
  clusterTiming({ heartbeatMs, voteTimeoutMs, clustered: true });
/** The range `--heartbeat` accepts (src/config.ts). */
const HEARTBEAT_MIN = 20;
const HEARTBEAT_MAX = 60_000;

test('durations for a 1000 ms heartbeat (the default), and alone', () => {
  assert.equal(clustered(1000), {
    heartbeatMs: 1000,
    checkEveryMs: 125,
    downAfterMs: 2000,
    echoTimeoutMs: 400,
    fenceMs: 250,
    discoveryMs: 2500,
    resumeMs: 1250,
    answerTimeoutMs: 500,
    coordinatorTimeoutMs: 2000,
    syncTimeoutMs: 10_000,
    voteTimeoutMs: 500,
  });
  // Alone (no broker) there is nobody to discover: the first election is at once; nothing else changes.
  assert.equal(clusterTiming({ heartbeatMs: 1000, voteTimeoutMs: 500, clustered: false }), { ...clustered(1000), discoveryMs: 0 });
});

test('durations at the ends of the flag range and for the 250 ms the process specs use', () => {
  assert.equal(clustered(20, 10), {
    heartbeatMs: 20,
    checkEveryMs: 2,
    downAfterMs: 40,
    echoTimeoutMs: 8,
    fenceMs: 5,
    discoveryMs: 50,
    resumeMs: 25,
    answerTimeoutMs: 50,
    coordinatorTimeoutMs: 40,
    syncTimeoutMs: 10_000,
    voteTimeoutMs: 10,
  });
  assert.equal(clustered(250), {
    heartbeatMs: 250,
    checkEveryMs: 31,
    downAfterMs: 500,
    echoTimeoutMs: 100,
    fenceMs: 62.5,
    discoveryMs: 625,
    resumeMs: 312.5,
    answerTimeoutMs: 125,
    coordinatorTimeoutMs: 500,
    syncTimeoutMs: 10_000,
    voteTimeoutMs: 500,
  });
  assert.equal(clustered(60_000, 60_000), {
    heartbeatMs: 60_000,
    checkEveryMs: 7500,
    downAfterMs: 120_000,
    echoTimeoutMs: 24_000,
    fenceMs: 15_000,
    discoveryMs: 150_000,
    resumeMs: 75_000,
    answerTimeoutMs: 30_000,
    coordinatorTimeoutMs: 120_000,
    syncTimeoutMs: 600_000,
    voteTimeoutMs: 60_000,
  });
  assert.is(DOWN_AFTER_INTERVALS * 1000, clustered(1000).downAfterMs);
});

test('the check period never rounds down to 0', () => {
  assert.is(clusterTiming({ heartbeatMs: 5, voteTimeoutMs: 10, clustered: true }).checkEveryMs, 1);
});

test('the safety margins at 1000 ms', () => {
  assert.equal(safetyMargins(clustered(1000)), {
    // Cut off at the latest 1000 (the next, unechoed beat) + 400 (echo timeout) + 125 (check period) after the last
    // keepalive heard; taken over at the earliest 2000 (down) + 250 (fence) after it.
    cutOffBeforeTakeover: { latestMs: 1525, earliestMs: 2250, marginMs: 725 },
    echoWatchFires: { latestMs: 525, earliestMs: 1000, marginMs: 475 },
    discoveryHearsMaster: { latestMs: 1000, earliestMs: 2500, marginMs: 1500 },
    resumeHearsMaster: { latestMs: 1000, earliestMs: 1250, marginMs: 250 },
  });
  assert.is(safetyMargins(clusterTiming({ heartbeatMs: 1000, voteTimeoutMs: 500, clustered: false })).discoveryHearsMaster, null);
});

test('every rule holds for every heartbeat the flag accepts, clustered and alone', () => {
  for (let hb = HEARTBEAT_MIN; hb <= HEARTBEAT_MAX; hb++) {
    for (const c of [true, false]) {
      const t = clusterTiming({ heartbeatMs: hb, voteTimeoutMs: 500, clustered: c });
      const m = safetyMargins(t);
      if (unsafeRules(t).length > 0)
        assert.unreachable(`heartbeat ${hb} (${c ? 'clustered' : 'alone'}): ${unsafeRules(t).join(', ')} broken`);
      // The margin grows with the interval: never below 0.7 of it (it is 0.725 of it less the rounding of the check).
      if (!(m.cutOffBeforeTakeover.marginMs >= 0.7 * hb)) assert.unreachable(`heartbeat ${hb}: margin ${m.cutOffBeforeTakeover.marginMs}`);
    }
  }
});

test('a broken derivation is caught by the rules', () => {
  const t = clustered(1000);
  assert.equal(unsafeRules({ ...t, echoTimeoutMs: 2.5 * t.heartbeatMs }), ['cutOffBeforeTakeover', 'echoWatchFires']);
  assert.equal(unsafeRules({ ...t, fenceMs: 0, downAfterMs: 1.5 * t.heartbeatMs }), ['cutOffBeforeTakeover']);
  assert.equal(unsafeRules({ ...t, checkEveryMs: t.heartbeatMs }), ['cutOffBeforeTakeover', 'echoWatchFires']);
  assert.equal(unsafeRules({ ...t, resumeMs: t.heartbeatMs }), ['resumeHearsMaster']);
  assert.equal(unsafeRules({ ...t, discoveryMs: t.heartbeatMs }), ['discoveryHearsMaster']);
  // Equal is not enough: the rule is strict.
  assert.equal(unsafeRules({ ...t, fenceMs: 1525 - 2000 }), ['cutOffBeforeTakeover']);
});

// ---- the rule in behaviour: a Master cut off from the broker, and a Slave that stops hearing it ----

type Scenario = {
  /** The broker carries the Master's keepalives sent up to this time (the last one the others hear), no later one. */
  readonly lastHeard: number;
  /** When the Slave's actors start (its liveness checks run from there: another phase than the Master's). */
  readonly slaveStart: number;
  /** Broker delivery delay, to the Slave and back to the Master alike. */
  readonly delayMs: number;
};
type Mark = 'c' | 'd' | 'b';

/**
 * Instance 1, Master at epoch 1, and instance 2, its Slave, both with the real Heartbeat actor on `t`; the Slave's
 * down reports drive the real Election actor, and the Master it elects binds the service address after the fence,
 * as the tracker does. Emits `c` when the Master is cut off (it stops answering), `d` when the Slave declares it
 * down, `b` when the Slave, now Master, binds the service address.
 */
function cutOffCluster(t: ClusterTiming, s: TestScheduler, sc: Scenario): Observable<Mark> {
  return defer(() => {
    const broker = new Subject<Keepalive>();
    const heard = (m: Keepalive): HeartbeatInput => ({ type: 'keepalive', msg: m, now: s.now() });
    const master$ = heartbeatActor(
      merge(
        of<HeartbeatInput>({ type: 'status', status: { role: 'master', synced: true, epoch: 1, applied: 0 } }),
        broker.pipe(map(heard)),
      ),
      { config: { self: 1, nonce: 'm', startedAt: 0, timing: t, watchEcho: true }, scheduler: s },
    ).pipe(
      mergeMap((o) => {
        if (o.type === 'send-keepalive' && s.now() <= sc.lastHeard) s.schedule(() => broker.next(o.msg), sc.delayMs);
        return o.type === 'cut-off' && o.cut ? of<Mark>('c') : [];
      }),
    );
    const slave$ = defer(() => {
      const hb$ = heartbeatActor(
        merge(
          of<HeartbeatInput>({ type: 'status', status: { role: 'slave', synced: true, epoch: 1, applied: 0 } }),
          broker.pipe(map(heard)),
        ),
        { config: { self: 2, nonce: 's', startedAt: 0, timing: t, watchEcho: true }, scheduler: s },
      ).pipe(share());
      const following: ElectionState = { role: 'slave', epoch: 1, master: 1, live: [], synced: true, attempt: 0 };
      const elIn$ = hb$.pipe(
        mergeMap((o): ElectionInput[] =>
          o.type === 'live' ? [{ type: 'live', live: o.live }] : o.type === 'down' ? [{ type: 'down', entry: o.entry }] : [],
        ),
      );
      const election$ = runActor(
        following,
        electionTransition({
          self: 2,
          discoveryMs: t.discoveryMs,
          answerTimeoutMs: t.answerTimeoutMs,
          coordinatorTimeoutMs: t.coordinatorTimeoutMs,
          resumeMs: t.resumeMs,
          syncTimeoutMs: t.syncTimeoutMs,
        }),
        elIn$,
        s,
      );
      const bind$ = election$.pipe(
        filter((o) => o.type === 'role' && o.role === 'master'),
        mergeMap(() => timer(t.fenceMs, s).pipe(map((): Mark => 'b'))),
      );
      // The Slave's own keepalives go through the broker and back (it hears itself, so it may judge the Master).
      const echo$ = hb$.pipe(
        mergeMap((o) => {
          if (o.type === 'send-keepalive') s.schedule(() => broker.next(o.msg), sc.delayMs);
          return [];
        }),
      );
      return merge(
        hb$.pipe(
          filter((o) => o.type === 'down'),
          map((): Mark => 'd'),
        ),
        bind$,
        echo$,
      );
    });
    return merge(master$, timer(sc.slaveStart, s).pipe(mergeMap(() => slave$)));
  });
}

const ts = (): TestScheduler => new TestScheduler((a, b) => assert.equal(a, b));

test('marbles, 100 ms heartbeat: the cut-off Master stops answering 85 ms before the new Master binds (the rule says at least 73)', () => {
  const t = clustered(100); // checks every 12, echo timeout 40, down after 200, fence 25
  const s = ts();
  s.run(({ expectObservable }) => {
    // The keepalive sent at 100 is the last the broker carries. The Master's beat at 200 is not echoed: the first
    // check past 240 (252) cuts it off. The Slave heard it at 100: down at the first check past 300 (312), Master
    // at once (nobody higher), service address bound after the fence (337).
    expectObservable(cutOffCluster(t, s, { lastHeard: 100, slaveStart: 0, delayMs: 0 }), '^ 600ms !').toBe('252ms c 59ms d 24ms b');
  });
  // What the module states for this heartbeat: 100 + 40 + 12 = 152 at the latest against 200 + 25 = 225.
  assert.equal(safetyMargins(t).cutOffBeforeTakeover, { latestMs: 152, earliestMs: 225, marginMs: 73 });
});

test('marbles, 1000 ms heartbeat, Slave checks out of phase and a slow broker: cut off at 2500, bound at 3329', () => {
  const t = clustered(1000); // checks every 125, echo timeout 400, down after 2000, fence 250
  const s = ts();
  s.run(({ expectObservable }) => {
    // Last keepalive sent at 1000, heard at 1030. Master: beat 2000 unechoed, first check past 2400 is 2500. Slave
    // (beats and checks at 49 + 125k): the first check past 3030 is 3049, just as its own beat of 3049 leaves: it
    // waits to hear itself (back at 3079), then declares the Master down; Master at once; bound at 3329: 829 ms
    // after the cut-off (the rule says at least 725).
    expectObservable(cutOffCluster(t, s, { lastHeard: 1000, slaveStart: 49, delayMs: 30 }), '^ 5000ms !').toBe('2500ms c 578ms d 249ms b');
  });
});

test('the Master is cut off strictly before the new Master binds, by at least the stated margin, for every heartbeat, phase and delay', () => {
  const heartbeats = [HEARTBEAT_MIN, 21, 33, 50, 99, 100, 250, 333, 1000, 1001, 4999, 60_000];
  let runs = 0;
  for (const hb of heartbeats) {
    const t = clustered(hb);
    const rule = safetyMargins(t).cutOffBeforeTakeover;
    for (const beats of [1, 2, 3]) {
      const lastHeard = beats * hb;
      for (const slaveStart of [0, 1, Math.floor(t.checkEveryMs / 2), t.checkEveryMs - 1, Math.floor(hb / 3), hb - 1]) {
        for (const delayMs of [0, 1, Math.floor(t.echoTimeoutMs / 2)]) {
          const s = ts();
          const at: Partial<Record<Mark, number>> = {};
          s.run(() => {
            cutOffCluster(t, s, { lastHeard, slaveStart, delayMs })
              .pipe(takeUntil(timer(lastHeard + 4 * hb, s)))
              .subscribe((m) => {
                at[m] ??= s.now();
              });
          });
          const where = `heartbeat ${hb}, last heard ${lastHeard}, slave from ${slaveStart}, delay ${delayMs}: ${JSON.stringify(at)}`;
          const { c, d, b } = at;
          if (c === undefined || d === undefined || b === undefined) assert.unreachable(`${where}: missing events`);
          else {
            // Each side within what the module states, measured from the send of the last keepalive heard.
            if (!(c - lastHeard <= rule.latestMs)) assert.unreachable(`${where}: cut off later than ${rule.latestMs}`);
            // (One more broker delay when the Slave's own keepalive is in flight at the check: it waits to hear itself.)
            if (!(d - lastHeard > t.downAfterMs && d - lastHeard <= 2 * delayMs + t.downAfterMs + t.checkEveryMs))
              assert.unreachable(`${where}: down outside its window`);
            if (!(b - d === t.fenceMs && b - lastHeard > rule.earliestMs)) assert.unreachable(`${where}: bound before ${rule.earliestMs}`);
            // The rule itself, with at least its margin.
            if (!(rule.marginMs > 0)) assert.unreachable(`${where}: the stated margin ${rule.marginMs} is not above 0`);
            if (!(b - c >= rule.marginMs))
              assert.unreachable(`${where}: bound ${b - c} ms after the cut-off, less than the stated ${rule.marginMs}`);
          }
          runs++;
        }
      }
    }
  }
  assert.is(runs, 12 * 3 * 6 * 3);
});

test('with the echo watch broken (timeout 2.5 intervals) the Master is never cut off: the behaviour test would catch it', () => {
  const t = { ...clustered(100), echoTimeoutMs: 250 };
  const s = ts();
  s.run(({ expectObservable }) => {
    expectObservable(cutOffCluster(t, s, { lastHeard: 100, slaveStart: 0, delayMs: 0 }), '^ 600ms !').toBe('312ms d 24ms b');
  });
});

test.run();
