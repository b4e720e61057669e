import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mergeMap, of, type SchedulerAction, type SchedulerLike } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { batch } from '../../streams/batch.js';

const scheduler = (): TestScheduler => new TestScheduler((a, b) => assert.equal(a, b));

/**
 * The test scheduler, counting the scheduled actions that actually ran: a cancelled batch timer never runs, and
 * an uncancelled one that finds nothing to flush is invisible in marbles.
 */
function counting(ts: TestScheduler): { scheduler: SchedulerLike; fired: () => number } {
  let fired = 0;
  const s: SchedulerLike = {
    now: () => ts.now(),
    schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T) {
      return ts.schedule(
        function (this: SchedulerAction<T>, st?: T) {
          fired++;
          work.call(this, st);
        },
        delay,
        state,
      );
    },
  };
  return { scheduler: s, fired: () => fired };
}

test('a batch closes windowMs after its first item', () => {
  const ts = scheduler();
  ts.run(({ cold, expectObservable }) => {
    const src = cold('a-b------c--|');
    const out = '     -----x------(y|)';
    expectObservable(src.pipe(batch(5, 100, ts))).toBe(out, { x: ['a', 'b'], y: ['c'] });
  });
});

test('a zero window closes in the frame of its first item: no wait, only what that frame delivered gathers', () => {
  const ts = scheduler();
  ts.run(({ cold, expectObservable }) => {
    const src = cold('(ab)-c--(de)|');
    expectObservable(src.pipe(batch(0, 100, ts))).toBe('x----y--z---|', { x: ['a', 'b'], y: ['c'], z: ['d', 'e'] });
  });
});

test('a full batch closes at once; no timer runs while idle', () => {
  const ts = scheduler();
  const c = counting(ts);
  ts.run(({ cold, expectObservable }) => {
    const src = cold('(abcd) 20ms e|');
    expectObservable(src.pipe(batch(3, 2, c.scheduler))).toBe('(xy) 23ms (z|)', { x: ['a', 'b'], y: ['c', 'd'], z: ['e'] });
  });
  assert.is(c.fired(), 0, 'every timer was cancelled by a full batch or by completion');
});

test('completion with nothing waiting emits no empty batch', () => {
  const ts = scheduler();
  ts.run(({ hot, expectObservable }) => {
    const e1 = hot('  -a------|');
    const expected = '----x---|';
    expectObservable(e1.pipe(batch(3, 100, ts))).toBe(expected, { x: ['a'] });
  });
});

test('an error ends the output at once: the waiting batch is dropped and its timer cancelled', () => {
  const ts = scheduler();
  const c = counting(ts);
  ts.run(({ hot, expectObservable, expectSubscriptions }) => {
    const e1 = hot('  --a--b--c#');
    const e1subs = '  ^--------!';
    const expected = '-------x-#';
    expectObservable(e1.pipe(batch(5, 100, c.scheduler))).toBe(expected, { x: ['a', 'b'] });
    expectSubscriptions(e1.subscriptions).toBe(e1subs);
  });
  assert.is(c.fired(), 1, "only the first batch's timer ran");
});

test('a source that errors at once errors at once', () => {
  const ts = scheduler();
  ts.run(({ cold, expectObservable, expectSubscriptions }) => {
    const e1 = cold(' #');
    const e1subs = '  (^!)';
    const expected = '#';
    expectObservable(e1.pipe(batch(5, 100, ts))).toBe(expected);
    expectSubscriptions(e1.subscriptions).toBe(e1subs);
  });
});

test('an empty source completes at once without a batch', () => {
  const ts = scheduler();
  const c = counting(ts);
  ts.run(({ cold, expectObservable, expectSubscriptions }) => {
    const e1 = cold(' |');
    const e1subs = '  (^!)';
    const expected = '|';
    expectObservable(e1.pipe(batch(5, 100, c.scheduler))).toBe(expected);
    expectSubscriptions(e1.subscriptions).toBe(e1subs);
  });
  assert.is(c.fired(), 0);
});

test('a source that never emits gives nothing and runs no timer', () => {
  const ts = scheduler();
  const c = counting(ts);
  ts.run(({ cold, expectObservable, expectSubscriptions }) => {
    const e1 = cold(' -');
    const e1subs = '  ^';
    const expected = '-';
    expectObservable(e1.pipe(batch(5, 100, c.scheduler))).toBe(expected);
    expectSubscriptions(e1.subscriptions).toBe(e1subs);
  });
  assert.is(c.fired(), 0);
});

test("unsubscribing ends the source subscription and cancels the waiting batch's timer", () => {
  const ts = scheduler();
  const c = counting(ts);
  ts.run(({ hot, expectObservable, expectSubscriptions }) => {
    const e1 = hot('  --a--b------c---');
    const unsub = '   ----!';
    const e1subs = '  ^---!';
    const expected = '----';
    expectObservable(e1.pipe(batch(5, 100, c.scheduler)), unsub).toBe(expected);
    expectSubscriptions(e1.subscriptions).toBe(e1subs);
  });
  assert.is(c.fired(), 0, 'the timer due at frame 7 never ran');
});

test('does not break unsubscription chains when the result is unsubscribed explicitly', () => {
  const ts = scheduler();
  ts.run(({ hot, expectObservable, expectSubscriptions }) => {
    const e1 = hot('  --a--b------c--d--|');
    const unsub = '   -------------!';
    const e1subs = '  ^------------!';
    const expected = '-------x------';
    const result = e1.pipe(
      mergeMap((x) => of(x)),
      batch(5, 100, ts),
      mergeMap((x) => of(x)),
    );
    expectObservable(result, unsub).toBe(expected, { x: ['a', 'b'] });
    expectSubscriptions(e1.subscriptions).toBe(e1subs);
  });
});

test.run();
