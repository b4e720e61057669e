import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestScheduler } from 'rxjs/testing';
import { turnScheduler } from '../../streams/turn-scheduler.js';

/** A hand-driven "end of turn": deferred functions run when the test says the turn is over. */
function turns(): { defer: (fn: () => void) => () => void; endTurn: () => void } {
  let queue: Array<{ fn: () => void; live: boolean }> = [];
  return {
    defer(fn) {
      const entry = { fn, live: true };
      queue.push(entry);
      return () => {
        entry.live = false;
      };
    },
    endTurn() {
      const q = queue;
      queue = [];
      for (const e of q) if (e.live) e.fn();
    },
  };
}

test('a zero delay runs at the end of the turn, not before; a cancelled one never runs', () => {
  const base = new TestScheduler(() => {});
  const t = turns();
  const s = turnScheduler(base, t.defer);
  const ran: string[] = [];
  s.schedule(() => ran.push('a'));
  const cancelled = s.schedule(() => ran.push('b'), 0);
  cancelled.unsubscribe();
  assert.equal(ran, []);
  t.endTurn();
  assert.equal(ran, ['a']);
});

test('a positive delay goes to the base scheduler', () => {
  const base = new TestScheduler(() => {});
  const t = turns();
  const s = turnScheduler(base, t.defer);
  const ran: number[] = [];
  s.schedule(() => ran.push(base.now()), 5);
  t.endTurn();
  assert.equal(ran, []);
  base.flush();
  assert.equal(ran, [5]);
  assert.is(s.now(), base.now());
});

test.run();
