import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { map, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  electionActor,
  electionTransition,
  initialElection,
  type ElectionConfig,
  type ElectionInput,
  type ElectionOutput,
  type ElectionState,
} from '../../actors/election.js';
import type { LiveEntry } from '../../actors/heartbeat.js';
import type { Role } from '../../src/bus/messages.js';
import { clusterTiming } from '../../src/domain/timing.js';

// One marble frame is 1 ms.
const cfg: ElectionConfig = {
  self: 2,
  discoveryMs: 100,
  answerTimeoutMs: 50,
  coordinatorTimeoutMs: 200,
  syncTimeoutMs: 300,
  resumeMs: 120,
};
const ts = (): TestScheduler => new TestScheduler((a, b) => assert.equal(a, b));
type In = ElectionInput;
type Out = ElectionOutput;

const live = (id: number, role: Role, synced: boolean, epoch = 0): LiveEntry => ({
  id,
  role,
  synced,
  epoch,
  applied: 0,
  lastSeen: 0,
  nonce: `n${id}`,
  startedAt: 0,
});
const role = (r: Role, epoch: number, master: number | null): Out => ({ type: 'role', role: r, epoch, master });
/** A marble string from absolute frames, e.g. at([0, 'r'], [100, '(cm)']): a group takes as many frames as it has characters. */
const at = (...events: [number, string][]): string => {
  let pos = 0;
  let out = '';
  for (const [t, sym] of events) {
    if (t < pos) throw new Error(`event at ${t} overlaps the previous one (ends at ${pos})`);
    out += `${t > pos ? ` ${t - pos}ms ` : ''}${sym}`;
    pos = t + sym.length;
  }
  return out;
};
const START: In = { type: 'start' };
const starting = role('starting', 0, null);

test('a lone instance becomes master with epoch 1 once the discovery window closes', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s', { s: START });
    expectObservable(electionActor(input, { config: cfg, scheduler: s }), '^ 1000ms !').toBe(at([0, 'r'], [100, '(cm)']), {
      r: starting,
      c: { type: 'send-coordinator', epoch: 1 },
      m: role('master', 1, 2),
    });
  });
});

test('the discovery window length comes from the config', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s', { s: START });
    expectObservable(electionActor(input, { config: { ...cfg, discoveryMs: 30 }, scheduler: s }), '^ 1000ms !').toBe(
      at([0, 'r'], [30, '(cm)']),
      {
        r: starting,
        c: { type: 'send-coordinator', epoch: 1 },
        m: role('master', 1, 2),
      },
    );
  });
});

test("with the tracker's timings (clusterTiming): clustered, the first election comes 2.5 intervals after start; alone, at once", () => {
  for (const [clustered, discovered] of [
    [true, 250],
    [false, 0],
  ] as const) {
    const t = clusterTiming({ heartbeatMs: 100, voteTimeoutMs: 500, clustered });
    const el: ElectionConfig = {
      self: 2,
      discoveryMs: t.discoveryMs,
      answerTimeoutMs: t.answerTimeoutMs,
      coordinatorTimeoutMs: t.coordinatorTimeoutMs,
      syncTimeoutMs: t.syncTimeoutMs,
      resumeMs: t.resumeMs,
    };
    const s = ts();
    s.run(({ hot, expectObservable }) => {
      const input = hot<In>('s', { s: START });
      const expected = discovered === 0 ? '(rcm)' : at([0, 'r'], [discovered, '(cm)']);
      expectObservable(electionActor(input, { config: el, scheduler: s }), '^ 1000ms !').toBe(expected, {
        r: starting,
        c: { type: 'send-coordinator', epoch: 1 },
        m: role('master', 1, 2),
      });
    });
  }
});

// The epoch of the sync request and role while joining through discovery is left out here (see the report:
// the joining instance does not adopt the live Master's epoch).
const noEpoch = (o$: Observable<Out>): Observable<Omit<Out, 'epoch'>> =>
  o$.pipe(
    map((o) => {
      const { epoch: _epoch, ...rest } = o;
      return rest;
    }),
  );

test('a live master seen during discovery: syncing with a sync request to it, then synced makes a slave', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 9ms l 139ms y', {
      s: START,
      l: { type: 'live', live: [live(1, 'slave', true, 3), live(3, 'master', true, 3)] },
      y: { type: 'synced' },
    });
    expectObservable(noEpoch(electionActor(input, { config: cfg, scheduler: s })), '^ 1000ms !').toBe(
      at([0, 'r'], [100, '(qy)'], [150, 'v']),
      {
        r: { type: 'role', role: 'starting', master: null },
        q: { type: 'send-sync-request', to: 3 },
        y: { type: 'role', role: 'syncing', master: 3 },
        v: { type: 'role', role: 'slave', master: 3 },
      },
    );
  });
});

test('a sync that does not finish in time is requested again while the master is live, else an election follows', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 9ms l', { s: START, l: { type: 'live', live: [live(3, 'master', true, 3)] } });
    expectObservable(noEpoch(electionActor(input, { config: cfg, scheduler: s })), '^ 800ms !').toBe(
      at([0, 'r'], [100, '(qy)'], [400, '(qy)'], [700, '(qy)']),
      {
        r: { type: 'role', role: 'starting', master: null },
        q: { type: 'send-sync-request', to: 3 },
        y: { type: 'role', role: 'syncing', master: 3 },
      },
    );
  });
  // The master vanished from the live set (without a down, e.g. muted) while we waited: elect instead.
  const t = electionTransition(cfg);
  const st: ElectionState = { role: 'syncing', epoch: 3, master: 3, live: [live(1, 'slave', true, 3)], synced: false, attempt: 4 };
  const [next, out] = t(st, { type: 'sync-timeout', attempt: 4 });
  assert.is(next.role, 'electing');
  assert.equal(
    out.filter((o) => o.type !== 'timer'),
    [role('electing', 3, null)],
  );
  // A stale timer (an earlier attempt) does nothing.
  assert.equal(t(st, { type: 'sync-timeout', attempt: 3 }), [st, []]);
});

test('a Slave resuming takes its role back as soon as it hears its Master, still Master of the same epoch', () => {
  const t = electionTransition(cfg);
  const held = { role: 'slave' as const, epoch: 3, master: 3 };
  const st: ElectionState = { role: 'resuming', epoch: 3, master: 3, live: [], synced: true, attempt: 7, held };
  const [next, out] = t(st, { type: 'live', live: [live(3, 'master', true, 3)] });
  assert.is(next.role, 'slave');
  assert.is(next.held, null);
  assert.equal(
    out.filter((o) => o.type !== 'timer'),
    [role('slave', 3, 3)],
  );
  // Its Master not heard yet, or heard in another role: it waits for the window as before.
  assert.is(t(st, { type: 'live', live: [live(1, 'slave', true, 3)] })[0].role, 'resuming');
  assert.is(t(st, { type: 'live', live: [live(3, 'resuming', true, 3)] })[0].role, 'resuming');
  // A Master resuming waits out its window whatever it hears.
  const master: ElectionState = { ...st, held: { role: 'master', epoch: 3, master: 5 } };
  assert.is(t(master, { type: 'live', live: [live(3, 'slave', true, 3)] })[0].role, 'resuming');
});

test('a transfer that makes progress does not time out: the timeout counts from its last part', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    // Parts at 250 and 500 ms push the 300 ms timeout to 800 ms; nothing after that: asked again at 800.
    const input = hot<In>('s 9ms l 239ms p 249ms p', {
      s: START,
      l: { type: 'live', live: [live(3, 'master', true, 3)] },
      p: { type: 'sync-progress' },
    });
    expectObservable(noEpoch(electionActor(input, { config: cfg, scheduler: s })), '^ 900ms !').toBe(
      at([0, 'r'], [100, '(qy)'], [800, '(qy)']),
      {
        r: { type: 'role', role: 'starting', master: null },
        q: { type: 'send-sync-request', to: 3 },
        y: { type: 'role', role: 'syncing', master: 3 },
      },
    );
  });
  const t = electionTransition(cfg);
  const slave: ElectionState = { role: 'slave', epoch: 3, master: 3, live: [], synced: true, attempt: 4 };
  assert.equal(t(slave, { type: 'sync-progress' }), [slave, []], 'only while syncing');
});

test('a transfer that fails part-way is asked for again at once; a Slave ignores it', () => {
  const t = electionTransition(cfg);
  const st: ElectionState = { role: 'syncing', epoch: 3, master: 3, live: [live(3, 'master', true, 3)], synced: false, attempt: 4 };
  const [next, out] = t(st, { type: 'sync-failed' });
  assert.is(next.attempt, 5);
  assert.equal(out[0], { type: 'send-sync-request', to: 3, epoch: 3 });
  const slave: ElectionState = { ...st, role: 'slave', synced: true };
  assert.equal(t(slave, { type: 'sync-failed' }), [slave, []]);
});

test('fresh cluster: the highest id becomes master at the end of discovery without asking anyone', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 9ms l', { s: START, l: { type: 'live', live: [live(1, 'starting', false), live(2, 'starting', false)] } });
    expectObservable(electionActor(input, { config: { ...cfg, self: 3 }, scheduler: s }), '^ 1000ms !').toBe(at([0, 'r'], [100, '(cm)']), {
      r: starting,
      c: { type: 'send-coordinator', epoch: 1 },
      m: role('master', 1, 3),
    });
  });
});

test('fresh cluster: a lower id sends ELECTION, on an ANSWER waits, on the COORDINATOR syncs from the new master', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 9ms l 99ms a 19ms c 39ms y', {
      s: START,
      l: { type: 'live', live: [live(1, 'starting', false), live(3, 'starting', false)] },
      a: { type: 'answer', from: 3, to: 2, epoch: 0 },
      c: { type: 'coordinator', from: 3, epoch: 1 },
      y: { type: 'synced' },
    });
    // Answer at 110, coordinator at 130 (before the answer timeout at 150, which then finds us syncing).
    expectObservable(electionActor(input, { config: cfg, scheduler: s }), '^ 600ms !').toBe(
      at([0, 'r'], [100, '(ez)'], [130, '(qy)'], [170, 'v']),
      {
        r: starting,
        e: { type: 'send-election', epoch: 0 },
        z: role('electing', 0, null),
        q: { type: 'send-sync-request', to: 3, epoch: 1 },
        y: role('syncing', 1, 3),
        v: role('slave', 1, 3),
      },
    );
  });
});

test('fresh cluster: a lower id that gets no answer within the answer timeout becomes master', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 9ms l', { s: START, l: { type: 'live', live: [live(3, 'starting', false)] } });
    expectObservable(electionActor(input, { config: cfg, scheduler: s }), '^ 1000ms !').toBe(at([0, 'r'], [100, '(ez)'], [150, '(cm)']), {
      r: starting,
      e: { type: 'send-election', epoch: 0 },
      z: role('electing', 0, null),
      c: { type: 'send-coordinator', epoch: 1 },
      m: role('master', 1, 2),
    });
  });
});

test('an ANSWER addressed to another instance does not stop us from winning', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 9ms l 99ms a', {
      s: START,
      l: { type: 'live', live: [live(3, 'starting', false)] },
      a: { type: 'answer', from: 3, to: 1, epoch: 0 },
    });
    expectObservable(electionActor(input, { config: cfg, scheduler: s }), '^ 1000ms !').toBe(at([0, 'r'], [100, '(ez)'], [150, '(cm)']), {
      r: starting,
      e: { type: 'send-election', epoch: 0 },
      z: role('electing', 0, null),
      c: { type: 'send-coordinator', epoch: 1 },
      m: role('master', 1, 2),
    });
  });
});

test('only an ANSWER addressed to us while electing arms the wait for a COORDINATOR', () => {
  const t = electionTransition(cfg);
  const electing: ElectionState = {
    role: 'electing',
    epoch: 0,
    master: null,
    live: [live(3, 'starting', false)],
    synced: false,
    attempt: 2,
  };
  assert.equal(t(electing, { type: 'answer', from: 3, to: 1, epoch: 0 }), [electing, []]);
  assert.equal(t(electing, { type: 'answer', from: 3, to: 2, epoch: 0 })[1], [
    { type: 'timer', after: 200, input: { type: 'coordinator-timeout', attempt: 3 } },
  ]);
  const slave: ElectionState = { ...electing, role: 'slave', master: 3, synced: true };
  assert.equal(t(slave, { type: 'answer', from: 3, to: 2, epoch: 0 }), [slave, []]);
});

test('the higher instance answers an ELECTION from a lower one; as master it also repeats its COORDINATOR', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 9ms l 99ms e', {
      s: START,
      l: { type: 'live', live: [live(1, 'starting', false)] },
      e: { type: 'election', from: 1, epoch: 0 },
    });
    expectObservable(electionActor(input, { config: { ...cfg, self: 3 }, scheduler: s }), '^ 1000ms !').toBe(
      at([0, 'r'], [100, '(cm)'], [110, '(ak)']),
      {
        r: starting,
        c: { type: 'send-coordinator', epoch: 1 },
        m: role('master', 1, 3),
        a: { type: 'send-answer', to: 1, epoch: 1 },
        k: { type: 'send-coordinator', epoch: 1 },
      },
    );
  });
  // An election from a higher id, or our own echo, gets no answer.
  const t = electionTransition({ ...cfg, self: 3 });
  const master: ElectionState = { role: 'master', epoch: 1, master: 3, live: [], synced: true, attempt: 1 };
  assert.equal(t(master, { type: 'election', from: 4, epoch: 1 })[1], []);
  assert.equal(t(master, { type: 'election', from: 3, epoch: 1 })[1], []);
});

test('a synced slave answering an ELECTION from a lower id starts its own election', () => {
  const t = electionTransition({ ...cfg, self: 3 });
  const slave: ElectionState = {
    role: 'slave',
    epoch: 4,
    master: 9,
    live: [live(1, 'slave', true, 4), live(5, 'slave', true, 4)],
    synced: true,
    attempt: 2,
  };
  const [next, out] = t(slave, { type: 'election', from: 1, epoch: 4 });
  assert.is(next.role, 'electing');
  assert.is(next.attempt, 3);
  assert.equal(out, [
    { type: 'send-answer', to: 1, epoch: 4 },
    { type: 'send-election', epoch: 4 },
    { type: 'timer', after: 50, input: { type: 'answer-timeout', attempt: 3 } },
    role('electing', 4, null),
  ]);
});

test('a new master takes an epoch one above the highest seen', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 9ms l', {
      s: START,
      l: { type: 'live', live: [live(1, 'starting', false, 7), live(3, 'isolated', false, 4)] },
    });
    expectObservable(electionActor(input, { config: cfg, scheduler: s }), '^ 1000ms !').toBe(at([0, 'r'], [100, '(cm)']), {
      r: starting,
      c: { type: 'send-coordinator', epoch: 8 },
      m: role('master', 8, 2),
    });
  });
  const s2 = ts();
  s2.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 9ms l', {
      s: START,
      l: { type: 'live', live: [live(1, 'starting', false, 2), live(3, 'electing', false, 5)] },
    });
    expectObservable(electionActor(input, { config: cfg, scheduler: s2 }), '^ 1000ms !').toBe(at([0, 'r'], [100, '(ez)'], [150, '(cm)']), {
      r: starting,
      e: { type: 'send-election', epoch: 5 },
      z: role('electing', 0, null),
      c: { type: 'send-coordinator', epoch: 6 },
      m: role('master', 6, 2),
    });
  });
});

test('a COORDINATOR from an older epoch is ignored; a newer one deposes this master, which then syncs from it', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 9ms l 139ms o 9ms p 9ms n 9ms h', {
      s: START,
      l: { type: 'live', live: [live(1, 'starting', false, 7)] },
      o: { type: 'coordinator', from: 3, epoch: 7 },
      p: { type: 'coordinator', from: 1, epoch: 8 },
      n: { type: 'coordinator', from: 3, epoch: 9 },
      // 3's keepalive: the check armed when following it finds it live.
      h: { type: 'live', live: [live(1, 'starting', false, 7), live(3, 'master', true, 9)] },
    });
    expectObservable(electionActor(input, { config: cfg, scheduler: s }), '^ 400ms !').toBe(at([0, 'r'], [100, '(cm)'], [170, '(qy)']), {
      r: starting,
      c: { type: 'send-coordinator', epoch: 8 },
      m: role('master', 8, 2),
      q: { type: 'send-sync-request', to: 3, epoch: 9 },
      y: role('syncing', 9, 3),
    });
  });
});

test("a slave ignores a COORDINATOR from an older epoch and a repeat of its master's; follows a newer one", () => {
  const t = electionTransition(cfg);
  const slave: ElectionState = { role: 'slave', epoch: 4, master: 3, live: [], synced: true, attempt: 2 };
  assert.equal(t(slave, { type: 'coordinator', from: 5, epoch: 3 }), [slave, []]);
  assert.equal(t(slave, { type: 'coordinator', from: 3, epoch: 4 }), [slave, []]);
  const [next, out] = t(slave, { type: 'coordinator', from: 5, epoch: 5 });
  // It follows 5 at once, and checks after a coordinator timeout that 5 is really heard.
  assert.equal(out, [{ type: 'timer', after: cfg.coordinatorTimeoutMs, input: { type: 'master-check', attempt: 3 } }, role('slave', 5, 5)]);
  assert.is(next.master, 5);
});

/** Start, be told of master 3 by its COORDINATOR (epoch 4), finish the state transfer: slave of 3 at epoch 4. */
const toSlave = { s: START, c: { type: 'coordinator', from: 3, epoch: 4 } as In, y: { type: 'synced' } as In };
const slaveOut = {
  r: starting,
  q: { type: 'send-sync-request', to: 3, epoch: 4 } as Out,
  y: role('syncing', 4, 3),
  v: role('slave', 4, 3),
};

test('a slave whose master goes down stands; unsynced or syncing instances with higher ids do not count', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 9ms c 9ms y 9ms l 9ms d', {
      ...toSlave,
      // 4 is re-fetching the master's state (its keepalive may still say synced): it holds no complete repository.
      l: {
        type: 'live',
        live: [
          live(1, 'slave', true, 4),
          live(3, 'master', true, 4),
          live(4, 'syncing', true, 4),
          live(5, 'starting', false),
          live(6, 'isolated', true, 4),
        ],
      },
      d: { type: 'down', entry: live(3, 'master', true, 4) },
    });
    expectObservable(electionActor(input, { config: cfg, scheduler: s }), '^ 1000ms !').toBe(
      at([0, 'r'], [10, '(qy)'], [20, 'v'], [40, '(cm)']),
      {
        ...slaveOut,
        c: { type: 'send-coordinator', epoch: 5 },
        m: role('master', 5, 2),
      },
    );
  });
});

test('a slave whose master goes down sends ELECTION when a higher synced instance is live', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 9ms c 9ms y 9ms l 9ms d', {
      ...toSlave,
      l: { type: 'live', live: [live(1, 'slave', true, 4), live(3, 'master', true, 4), live(4, 'slave', true, 4)] },
      d: { type: 'down', entry: live(3, 'master', true, 4) },
    });
    expectObservable(electionActor(input, { config: cfg, scheduler: s }), '^ 1000ms !').toBe(
      at([0, 'r'], [10, '(qy)'], [20, 'v'], [40, '(ez)'], [90, '(cm)']),
      {
        ...slaveOut,
        e: { type: 'send-election', epoch: 4 },
        z: role('electing', 4, null),
        c: { type: 'send-coordinator', epoch: 5 },
        m: role('master', 5, 2),
      },
    );
  });
});

test('the down of an instance other than the master changes nothing', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 9ms c 9ms y 9ms l 9ms d', {
      ...toSlave,
      l: { type: 'live', live: [live(1, 'slave', true, 4), live(3, 'master', true, 4)] },
      d: { type: 'down', entry: live(1, 'slave', true, 4) },
    });
    expectObservable(electionActor(input, { config: cfg, scheduler: s }), '^ 1000ms !').toBe(
      at([0, 'r'], [10, '(qy)'], [20, 'v']),
      slaveOut,
    );
  });
});

test('an unsynced newcomer never stands while a synced instance is live: it waits for a COORDINATOR, then syncs', () => {
  const s = ts();
  const self5 = { ...cfg, self: 5 };
  s.run(({ hot, expectObservable }) => {
    // Master 3 goes down during our discovery window; 4 holds the data. We (5) have the highest id but nothing.
    const input = hot<In>('s 9ms l 39ms d 69ms e 29ms c', {
      s: START,
      l: { type: 'live', live: [live(3, 'master', true, 4), live(4, 'slave', true, 4)] },
      d: { type: 'down', entry: live(3, 'master', true, 4) },
      e: { type: 'election', from: 4, epoch: 4 },
      c: { type: 'coordinator', from: 4, epoch: 5 },
    });
    // No ELECTION sent and no ANSWER to 4's ELECTION; 4's COORDINATOR at 150 makes us sync from 4.
    expectObservable(electionActor(input, { config: self5, scheduler: s }), '^ 400ms !').toBe(at([0, 'r'], [100, 'z'], [150, '(qy)']), {
      r: starting,
      z: role('electing', 4, null), // the dead Master's epoch is remembered
      q: { type: 'send-sync-request', to: 4, epoch: 5 },
      y: role('syncing', 5, 4),
    });
  });
});

test('an unsynced newcomer that hears no COORDINATOR keeps waiting (re-checked every coordinator timeout)', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 9ms l', { s: START, l: { type: 'live', live: [live(4, 'slave', true, 4)] } });
    expectObservable(electionActor(input, { config: { ...cfg, self: 5 }, scheduler: s }), '^ 550ms !').toBe(
      at([0, 'r'], [100, 'z'], [300, 'z'], [500, 'z']),
      {
        r: starting,
        z: role('electing', 0, null),
      },
    );
  });
});

test('an unsynced newcomer whose master goes down mid-transfer waits for the next master instead of standing', () => {
  const t = electionTransition({ ...cfg, self: 5 });
  const st: ElectionState = {
    role: 'syncing',
    epoch: 4,
    master: 3,
    live: [live(3, 'master', true, 4), live(4, 'slave', true, 4)],
    synced: false,
    attempt: 2,
  };
  const [next, out] = t(st, { type: 'down', entry: live(3, 'master', true, 4) });
  assert.equal(out, [{ type: 'timer', after: 200, input: { type: 'coordinator-timeout', attempt: 3 } }, role('electing', 4, null)]);
  assert.is(next.synced, false);
  assert.equal(
    next.live.map((e) => e.id),
    [4],
  );
});

test('isolate makes the instance isolated; rejoin takes the role it held back after the resume window, if nothing changed', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 149ms i 9ms c 39ms j', {
      s: START,
      i: { type: 'isolate' },
      c: { type: 'coordinator', from: 3, epoch: 7 },
      j: { type: 'rejoin' },
    });
    // Master (epoch 1) at 100, isolated at 150 (coordinators ignored while cut), back at 200: it listens for the
    // resume window (120) and, hearing no newer epoch, is Master of epoch 1 again at 320 (no new election).
    expectObservable(electionActor(input, { config: cfg, scheduler: s }), '^ 1000ms !').toBe(
      at([0, 'r'], [100, '(cm)'], [150, 'i'], [200, 'u'], [320, 'm']),
      {
        r: starting,
        c: { type: 'send-coordinator', epoch: 1 },
        m: role('master', 1, 2),
        i: role('isolated', 1, null),
        u: role('resuming', 1, null),
      },
    );
  });
});

test('isolated during discovery: the old window is void; rejoining opens a fresh one', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 49ms i 29ms j', { s: START, i: { type: 'isolate' }, j: { type: 'rejoin' } });
    expectObservable(electionActor(input, { config: cfg, scheduler: s }), '^ 1000ms !').toBe(
      at([0, 'r'], [50, 'i'], [80, 'b'], [180, '(cm)']),
      {
        r: starting,
        i: role('isolated', 0, null),
        b: starting,
        c: { type: 'send-coordinator', epoch: 1 },
        m: role('master', 1, 2),
      },
    );
  });
});

test('an isolated instance ignores everything but rejoin, and rejoin forgets that it was synced', () => {
  const t = electionTransition(cfg);
  const isolated: ElectionState = { role: 'isolated', epoch: 4, master: null, live: [], synced: true, attempt: 5 };
  for (const i of [
    { type: 'election', from: 1, epoch: 4 },
    { type: 'coordinator', from: 3, epoch: 9 },
    { type: 'isolate' },
    { type: 'resync' },
    { type: 'synced' },
    { type: 'discovered', attempt: 5 },
  ] as In[]) {
    assert.equal(t(isolated, i)[1], [], JSON.stringify(i));
  }
  const [back, out] = t(isolated, { type: 'rejoin' });
  assert.equal(out, [{ type: 'timer', after: 100, input: { type: 'discovered', attempt: 6 } }, role('starting', 4, null)]);
  assert.is(back.synced, false);
  // Only an isolated instance rejoins.
  const slave: ElectionState = { ...isolated, role: 'slave', master: 3 };
  assert.equal(t(slave, { type: 'rejoin' }), [slave, []]);
});

test('resync from a slave goes back to syncing from its master; elsewhere it is ignored', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 9ms c 9ms y 9ms r', { ...toSlave, r: { type: 'resync' } });
    expectObservable(electionActor(input, { config: cfg, scheduler: s }), '^ 200ms !').toBe(
      at([0, 'r'], [10, '(qy)'], [20, 'v'], [30, '(qy)']),
      slaveOut,
    );
  });
  const t = electionTransition(cfg);
  const master: ElectionState = { role: 'master', epoch: 2, master: 2, live: [], synced: true, attempt: 1 };
  assert.equal(t(master, { type: 'resync' }), [master, []]);
  const syncing: ElectionState = { role: 'syncing', epoch: 2, master: 3, live: [], synced: false, attempt: 1 };
  assert.equal(t(syncing, { type: 'resync' }), [syncing, []]);
});

test('synced outside of syncing changes nothing', () => {
  const t = electionTransition(cfg);
  const st: ElectionState = { role: 'electing', epoch: 2, master: null, live: [], synced: false, attempt: 1 };
  assert.equal(t(st, { type: 'synced' }), [st, []]);
  assert.equal(t(initialElection(), { type: 'synced' }), [initialElection(), []]);
});

test('regression: an ANSWER cancels the answer timeout, so a lower instance does not make itself Master', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot<In>('s 9ms l 99ms a', {
      s: START,
      l: { type: 'live', live: [live(3, 'starting', false)] },
      a: { type: 'answer', from: 3, to: 2, epoch: 0 },
    });
    // Election at 100, answer at 110; no COORDINATOR: at 310 it tries again (a new ELECTION), never Master at 150.
    expectObservable(electionActor(input, { config: cfg, scheduler: s }), '^ 320ms !').toBe(at([0, 'r'], [100, '(ez)'], [310, '(ez)']), {
      r: starting,
      e: { type: 'send-election', epoch: 0 },
      z: role('electing', 0, null),
    });
  });
});

test('regression: joining a live Master adopts its epoch, so older coordinators stay fenced off', () => {
  const t = electionTransition(cfg);
  let st = t(t(initialElection(), START)[0], { type: 'live', live: [live(3, 'master', true, 3)] })[0];
  const [synced, out] = t(st, { type: 'discovered', attempt: st.attempt });
  assert.equal(out[0], { type: 'send-sync-request', to: 3, epoch: 3 });
  st = t(synced, { type: 'synced' })[0];
  assert.is(st.epoch, 3);
  const [after, stale] = t(st, { type: 'coordinator', from: 4, epoch: 2 });
  assert.equal(stale, []);
  assert.is(after.master, 3);
});

test("a slave elects when its Master's keepalive of the current epoch says it is no longer Master", () => {
  const t = electionTransition(cfg);
  const slave: ElectionState = {
    role: 'slave',
    epoch: 1,
    master: 3,
    live: [live(1, 'slave', true, 1), live(3, 'master', true, 1)],
    synced: true,
    attempt: 2,
  };
  const [next, out] = t(slave, { type: 'live', live: [live(1, 'slave', true, 1), live(3, 'isolated', true, 1)] });
  assert.is(next.role, 'master', 'no higher holder is live: this slave wins');
  assert.is(next.epoch, 2);
  assert.ok(out.some((o) => o.type === 'send-coordinator'));
});

test('regression: a keepalive the Master sent before it won (starting, older epoch) does not start an election', () => {
  const t = electionTransition(cfg);
  const slave: ElectionState = { role: 'slave', epoch: 1, master: 3, live: [live(1, 'slave', true, 1)], synced: true, attempt: 2 };
  const [next, out] = t(slave, { type: 'live', live: [live(1, 'slave', true, 1), live(3, 'starting', false, 0)] });
  assert.is(next.role, 'slave');
  assert.is(next.master, 3);
  assert.equal(out, []);
});

test('regression: a restarted instance still in discovery never makes itself Master on an ELECTION', () => {
  const t = electionTransition({ ...cfg, self: 3 });
  const newcomer: ElectionState = { ...initialElection(), attempt: 1 };
  // The cluster (epoch 3) is electing after its Master died: the newcomer with ID 3 holds nothing and stays out.
  const [a, outA] = t(newcomer, { type: 'election', from: 1, epoch: 3 });
  assert.is(a.role, 'starting');
  assert.equal(outA, []);
  // A fresh cluster (epoch 0): it answers, so the lower ID waits, but stands only when its window closes.
  const [b, outB] = t(newcomer, { type: 'election', from: 1, epoch: 0 });
  assert.is(b.role, 'starting');
  assert.equal(outB, [{ type: 'send-answer', to: 1, epoch: 0 }]);
});

test('with a cluster size, an instance that hears no majority waits instead of making itself Master', () => {
  const t = electionTransition({ ...cfg, clusterSize: 3 });
  const slave: ElectionState = { role: 'slave', epoch: 1, master: 3, live: [live(3, 'master', true, 1)], synced: true, attempt: 2 };
  // Its Master is down and nobody else is heard: 1 of 3 is no majority.
  const [alone, out] = t(slave, { type: 'down', entry: live(3, 'master', true, 1) });
  assert.is(alone.role, 'electing');
  assert.not.ok(
    out.some((o) => o.type === 'send-coordinator'),
    'no COORDINATOR from a minority',
  );
  assert.ok(
    out.some((o) => o.type === 'timer' && o.input.type === 'coordinator-timeout'),
    'it looks again later',
  );
  // Once instance 1 is heard again (2 of 3), the next look makes it Master.
  const heard = t(alone, { type: 'live', live: [live(1, 'slave', true, 1)] })[0];
  const [won, out2] = t(heard, { type: 'coordinator-timeout', attempt: heard.attempt });
  assert.is(won.role, 'master');
  assert.is(won.epoch, 2);
  assert.ok(out2.some((o) => o.type === 'send-coordinator'));
  // Without a cluster size the lone survivor takes over at once.
  assert.is(electionTransition(cfg)(slave, { type: 'down', entry: live(3, 'master', true, 1) })[0].role, 'master');
});

test('a Master hearing a higher epoch from a non-Master (a stale claim from a partition) re-asserts above it', () => {
  const t = electionTransition({ ...cfg, self: 3 });
  const master: ElectionState = { role: 'master', epoch: 1, master: 3, live: [live(1, 'slave', true, 1)], synced: true, attempt: 2 };
  const [next, out] = t(master, { type: 'live', live: [live(1, 'slave', true, 1), live(2, 'starting', false, 2)] });
  assert.is(next.role, 'master');
  assert.is(next.epoch, 3);
  assert.ok(out.some((o) => o.type === 'send-coordinator' && o.epoch === 3));
  // A higher-epoch Master is not overridden here (its COORDINATOR deposes us).
  const [same, none] = t(master, { type: 'live', live: [live(1, 'slave', true, 1), live(2, 'master', true, 2)] });
  assert.is(same.epoch, 1);
  assert.equal(none, []);
});

test('regression: a Master followed on its COORDINATOR but never heard from is given up after a coordinator timeout', () => {
  const t = electionTransition(cfg);
  const starting: ElectionState = { ...initialElection(), live: [live(1, 'slave', true, 1)], attempt: 1 };
  const [syncing, out] = t(starting, { type: 'coordinator', from: 3, epoch: 1 });
  assert.is(syncing.role, 'syncing');
  const check = out.find((o) => o.type === 'timer' && o.input.type === 'master-check');
  assert.ok(check, 'a check is armed');
  const slave = t(syncing, { type: 'synced' })[0];
  assert.is(slave.role, 'slave');
  // Still no keepalive from 3 when the check fires: elect (1 is live and holds data, so it is the one to win).
  const [after] = t(slave, (check as { input: ElectionInput }).input);
  assert.is(after.role, 'master', 'the highest live holder (this one, 2) takes over');
  assert.is(after.master, 2);
  // Heard in the meantime: nothing happens.
  const heard = t(slave, { type: 'live', live: [live(1, 'slave', true, 1), live(3, 'master', true, 1)] })[0];
  assert.equal(t(heard, (check as { input: ElectionInput }).input), [heard, []]);
});

// After a broker switch (suspend, then resume): the former role comes back after the resume window when nothing
// changed, and a newer Master found meanwhile is joined as a newcomer.
const suspendResume = (st: ElectionState, heard: readonly LiveEntry[]) => {
  const t = electionTransition(cfg);
  const [suspended, o1] = t(st, { type: 'suspend' });
  const [resuming, o2] = t({ ...suspended, live: [...heard] }, { type: 'resume' });
  let [after, o3] = t(resuming, { type: 'resume-check', attempt: resuming.attempt });
  // Undecided after the first look: the second one decides.
  if (after.role === 'resuming') [after, o3] = t(after, { type: 'resume-check', attempt: after.attempt, last: true });
  return { suspended, resuming, after, out: [...o1, ...o2, ...o3] };
};

test('broker switch: a Master that hears no newer epoch takes its role back in the same epoch, without an election', () => {
  const master: ElectionState = { role: 'master', epoch: 4, master: 2, live: [], synced: true, attempt: 1 };
  const r = suspendResume(master, [live(1, 'resuming', true, 4)]);
  assert.is(r.suspended.role, 'isolated');
  assert.equal(r.resuming.role, 'resuming');
  assert.equal([r.after.role, r.after.epoch, r.after.master], ['master', 4, 2]);
  assert.equal(
    r.out.filter((o) => o.type !== 'timer'),
    [role('isolated', 4, null), role('resuming', 4, null), role('master', 4, 2)],
  );
  assert.ok(
    r.out.some((o) => o.type === 'timer' && o.after === cfg.resumeMs),
    'the decision waits one resume window',
  );
});

test('broker switch: a Slave follows its Master again when it is back or coming back; else it elects', () => {
  const slave: ElectionState = { role: 'slave', epoch: 4, master: 3, live: [], synced: true, attempt: 1 };
  assert.equal(suspendResume(slave, [live(3, 'resuming', true, 4)]).after.role, 'slave');
  assert.equal(suspendResume(slave, [live(3, 'master', true, 4)]).after.master, 3);
  const alone = suspendResume(slave, [live(1, 'slave', true, 4)]).after;
  assert.is(alone.role, 'master', 'nobody above it is heard: it takes over (a new epoch)');
  assert.is(alone.epoch, 5);
});

test('a Slave behind its idle Master (it was resuming while the last rounds went by) fetches its state a coordinator timeout later', () => {
  const t = electionTransition(cfg);
  const slave: ElectionState = { role: 'slave', epoch: 4, master: 3, live: [], synced: true, attempt: 1, applied: 20 };
  // Back from a cut at commit 20; the Master committed up to 31 meanwhile and has been idle since.
  const r = suspendResume(slave, [{ ...live(3, 'master', true, 4), applied: 31 }]);
  assert.is(r.after.role, 'slave');
  const check = r.out.find((o) => o.type === 'timer' && (o as { input: ElectionInput }).input.type === 'lag-check');
  assert.ok(check, 'a second look is scheduled');
  assert.is((check as { after: number }).after, cfg.coordinatorTimeoutMs);
  const [after, out] = t(r.after, (check as { input: ElectionInput }).input);
  assert.equal([after.role, after.master], ['syncing', 3]);
  assert.ok(out.some((o) => o.type === 'send-sync-request' && o.to === 3));
});

test('a Slave whose COMMIT was only on its way when the keepalive came does not resync; it keeps watching a Master that moved on', () => {
  const t = electionTransition(cfg);
  const slave: ElectionState = { role: 'slave', epoch: 4, master: 3, live: [], synced: true, attempt: 1, applied: 30 };
  const [watching, o1] = t(slave, { type: 'live', live: [{ ...live(3, 'master', true, 4), applied: 31 }] });
  assert.is(watching.lagMark, 31);
  assert.ok(o1.some((o) => o.type === 'timer' && o.after === cfg.coordinatorTimeoutMs));
  // A second keepalive before the look schedules nothing more.
  assert.equal(t(watching, { type: 'live', live: [{ ...live(3, 'master', true, 4), applied: 32 }] })[1], []);
  const [caught] = t(watching, { type: 'progress', applied: 31 });
  const [after, out] = t({ ...caught, live: [{ ...live(3, 'master', true, 4), applied: 40 }] }, { type: 'lag-check', mark: 31 });
  assert.equal([after.role, after.lagMark], ['slave', 40]);
  assert.not.ok(out.some((o) => o.type === 'send-sync-request'));
  // Level with the Master: nothing to watch.
  const [level, o3] = t({ ...caught, live: [{ ...live(3, 'master', true, 4), applied: 31 }] }, { type: 'lag-check', mark: 31 });
  assert.equal([level.lagMark, o3], [null, []]);
});

test('broker switch: a Slave that hears its Master still resuming does not take it for a deserter', () => {
  const t = electionTransition(cfg);
  const slave: ElectionState = { role: 'slave', epoch: 4, master: 3, live: [], synced: true, attempt: 1 };
  const [after, out] = t(slave, { type: 'live', live: [live(3, 'resuming', true, 4)] });
  assert.equal([after.role, out], ['slave', []]);
  assert.is(t(slave, { type: 'live', live: [live(3, 'isolated', true, 4)] })[0].role, 'master', 'one that gave its role up is');
});

test('only the most current holder stands: one behind the others (back from a partition) joins the live Master instead', () => {
  const t = electionTransition(cfg);
  // Instance 2 (this one) stopped at commit 10; instance 1 is at 40 and the Master 3 at 41.
  const behind: ElectionState = { role: 'slave', epoch: 4, master: 3, live: [], synced: true, attempt: 1, applied: 10 };
  const heard = [live(1, 'slave', true, 4), live(3, 'master', true, 4)].map((e) => ({ ...e, applied: e.id === 3 ? 41 : 40 }));
  const [after, out] = t({ ...behind, live: heard }, { type: 'down', entry: { ...live(3, 'master', true, 4), applied: 41 } });
  // The Master it declared down (it did not hear it) is down for it: instance 1, more current, must win.
  assert.is(after.role, 'electing');
  assert.not.ok(
    out.some((o) => o.type === 'send-coordinator'),
    'it does not make itself Master',
  );
  // It does not answer a lower instance's ELECTION either: it may not stand.
  const [, answers] = t({ ...after, live: heard.slice(0, 1) }, { type: 'election', from: 1, epoch: 4 });
  assert.equal(answers, []);
  // With the live Master heard again, it joins it (state transfer) rather than electing.
  const [joined, o2] = t({ ...after, live: heard }, { type: 'coordinator-timeout', attempt: after.attempt });
  assert.equal([joined.role, joined.master], ['syncing', 3]);
  assert.ok(o2.some((o) => o.type === 'send-sync-request' && o.to === 3));
});

test('progress keeps this instance\u2019s last commit; a current holder stands as before', () => {
  const t = electionTransition(cfg);
  const [st] = t({ role: 'slave', epoch: 4, master: 3, live: [], synced: true, attempt: 1 }, { type: 'progress', applied: 41 });
  assert.is(st.applied, 41);
  const [after, out] = t(
    { ...st, live: [{ ...live(1, 'slave', true, 4), applied: 40 }] },
    { type: 'down', entry: live(3, 'master', true, 4) },
  );
  assert.equal([after.role, after.epoch], ['master', 5]);
  assert.ok(out.some((o) => o.type === 'send-coordinator'));
});

test('broker switch: a Master elected meanwhile (a newer epoch) is joined with a state transfer', () => {
  const master: ElectionState = { role: 'master', epoch: 4, master: 2, live: [], synced: true, attempt: 1 };
  const r = suspendResume(master, [live(3, 'master', true, 5)]);
  assert.equal([r.after.role, r.after.master, r.after.epoch], ['syncing', 3, 5]);
  assert.ok(r.out.some((o) => o.type === 'send-sync-request' && o.to === 3));
});

test('broker switch: with a cluster size, a Master without a quorum does not take its role back', () => {
  const t = electionTransition({ ...cfg, clusterSize: 3 });
  const master: ElectionState = { role: 'master', epoch: 4, master: 2, live: [], synced: true, attempt: 1 };
  const [resuming] = t(t(master, { type: 'suspend' })[0], { type: 'resume' });
  const [after] = t(resuming, { type: 'resume-check', attempt: resuming.attempt });
  assert.is.not(after.role, 'master');
  // A stale check (an older attempt) changes nothing.
  assert.equal(t(resuming, { type: 'resume-check', attempt: resuming.attempt - 1 }), [resuming, []]);
});

test('broker switch: an instance that held no role (a newcomer) comes back as a newcomer', () => {
  const t = electionTransition(cfg);
  const starting: ElectionState = { ...initialElection(), attempt: 1 };
  const [back] = t(t(starting, { type: 'suspend' })[0], { type: 'resume' });
  assert.is(back.role, 'starting');
});

// Over a broker a claim must come back through the topic before it makes a Master: the broker's order decides
// between two claims of one epoch, and a claimant cut off from the broker (its claim never returns) stays out.
const claims: ElectionConfig = { ...cfg, confirmClaims: true, clusterSize: 3 };
const orphan: ElectionState = {
  role: 'slave',
  epoch: 2,
  master: 3,
  live: [live(1, 'slave', true, 2), live(3, 'master', true, 2)],
  synced: true,
  attempt: 4,
};

test('confirmed claims: Master only when our own COORDINATOR comes back; until then electing, and no older claim is followed', () => {
  const t = electionTransition(claims);
  const [claiming, out] = t(orphan, { type: 'down', entry: live(3, 'master', true, 2) });
  assert.is(claiming.role, 'electing');
  assert.is(claiming.claiming, 3);
  assert.ok(out.some((o) => o.type === 'send-coordinator' && o.epoch === 3));
  assert.ok(out.some((o) => o.type === 'timer' && o.input.type === 'claim-timeout' && o.after === claims.coordinatorTimeoutMs));
  assert.not.ok(
    out.some((o) => o.type === 'role' && o.role === 'master'),
    'not Master on its own say',
  );
  // An older claim still travelling is not followed: ours is above it.
  assert.equal(t(claiming, { type: 'coordinator', from: 1, epoch: 2 }), [claiming, []]);
  // The echo of an earlier claim is not this one.
  assert.equal(t(claiming, { type: 'coordinator', from: 2, epoch: 2 }), [claiming, []]);
  const [won, out2] = t(claiming, { type: 'coordinator', from: 2, epoch: 3 });
  assert.is(won.role, 'master');
  assert.is(won.epoch, 3);
  assert.is(won.claiming, null);
  assert.equal(out2, [role('master', 3, 2)]);
});

test('confirmed claims: another claim of the same epoch delivered first wins; our echo after it changes nothing', () => {
  const t = electionTransition(claims);
  const claiming = t(orphan, { type: 'down', entry: live(3, 'master', true, 2) })[0];
  const [follows, out] = t(claiming, { type: 'coordinator', from: 1, epoch: 3 });
  assert.is(follows.role, 'slave');
  assert.is(follows.master, 1);
  assert.equal(
    out.filter((o) => o.type === 'role'),
    [role('slave', 3, 1)],
  );
  assert.equal(t(follows, { type: 'coordinator', from: 2, epoch: 3 }), [follows, []]);
  assert.equal(t(follows, { type: 'claim-timeout', epoch: 3 }), [follows, []]);
});

test('confirmed claims: a Slave follows the first claim of an epoch and ignores a second claim of it', () => {
  const t = electionTransition({ ...claims, self: 1 });
  const slave: ElectionState = { role: 'electing', epoch: 2, master: null, live: [], synced: true, attempt: 4 };
  const first = t(slave, { type: 'coordinator', from: 2, epoch: 3 })[0];
  assert.is(first.master, 2);
  assert.equal(t(first, { type: 'coordinator', from: 3, epoch: 3 }), [first, []], 'the later claim lost in the broker order');
  assert.is(t(first, { type: 'coordinator', from: 3, epoch: 4 })[0].master, 3, 'a newer epoch still deposes');
  // Without confirmed claims (a lone instance) the older rule stands: the later claim of the epoch is followed.
  assert.is(electionTransition({ ...cfg, self: 1 })(first, { type: 'coordinator', from: 3, epoch: 3 })[0].master, 3);
});

test('confirmed claims: a claim that does not come back in time lapses: never Master, its epoch kept, another look later', () => {
  const t = electionTransition(claims);
  const claiming = t(orphan, { type: 'down', entry: live(3, 'master', true, 2) })[0];
  const [lapsed, out] = t(claiming, { type: 'claim-timeout', epoch: 3 });
  assert.is(lapsed.role, 'electing');
  assert.is(lapsed.epoch, 3, 'some may have heard it: the next claim goes above');
  assert.is(lapsed.claiming, null);
  assert.equal(
    out.filter((o) => o.type === 'role'),
    [role('electing', 3, null)],
  );
  const retry = out.find((o) => o.type === 'timer' && o.input.type === 'coordinator-timeout');
  assert.ok(retry);
  // The late echo (the broker was stalled) makes nobody Master.
  assert.equal(t(lapsed, { type: 'coordinator', from: 2, epoch: 3 }), [lapsed, []]);
  // The next look claims epoch 4.
  const [again, out2] = t(lapsed, (retry as { input: ElectionInput }).input);
  assert.is(again.claiming, 4);
  assert.ok(out2.some((o) => o.type === 'send-coordinator' && o.epoch === 4));
  // Cut off while claiming: the claim is void, its epoch kept (our keepalives must show it); so after a lost broker.
  for (const input of [{ type: 'isolate' }, { type: 'suspend' }] as const) {
    const cut = t(claiming, input)[0];
    assert.equal([cut.role, cut.epoch, cut.claiming], ['isolated', 3, null], input.type);
    assert.equal(t(cut, { type: 'coordinator', from: 2, epoch: 3 }), [cut, []]);
  }
});

test('confirmed claims: those who followed a claim that lapsed elect when its claimant shows the epoch without the role', () => {
  // Instance 1 claimed epoch 3, its COORDINATOR reached us, then it lost the broker: it comes back starting, epoch 3.
  const t = electionTransition({ ...claims, self: 2 });
  const following: ElectionState = {
    role: 'electing',
    epoch: 2,
    master: null,
    live: [live(1, 'master', true, 2)],
    synced: true,
    attempt: 4,
  };
  const slave = t(following, { type: 'coordinator', from: 1, epoch: 3 })[0];
  const syncing = { ...slave, role: 'syncing' as const, synced: false };
  for (const s of [slave, syncing]) {
    const [next, out] = t(s, { type: 'live', live: [live(1, 'starting', false, 3)] });
    assert.is(next.master, null, s.role);
    assert.ok(
      out.some((o) => o.type === 'role' && o.role === 'electing'),
      s.role,
    );
  }
  // Its keepalive of an older epoch (sent before the claim) changes nothing.
  assert.equal(t(slave, { type: 'live', live: [live(1, 'starting', false, 2)] })[1], []);
});

test('confirmed claims: a Master re-asserting above a stale epoch keeps its role while the new claim travels', () => {
  const t = electionTransition({ ...claims, self: 3 });
  const master: ElectionState = { role: 'master', epoch: 1, master: 3, live: [live(1, 'slave', true, 1)], synced: true, attempt: 2 };
  const [claiming, out] = t(master, { type: 'live', live: [live(1, 'slave', true, 1), live(2, 'starting', false, 2)] });
  assert.equal([claiming.role, claiming.epoch, claiming.claiming], ['master', 1, 3]);
  assert.not.ok(out.some((o) => o.type === 'role'));
  assert.equal(t(claiming, { type: 'coordinator', from: 3, epoch: 3 })[0].epoch, 3);
  const lapsed = t(claiming, { type: 'claim-timeout', epoch: 3 })[0];
  assert.equal([lapsed.role, lapsed.epoch, lapsed.claiming], ['master', 1, null]);
});

test.run();
