/**
 * The actor runner: a pure transition run as a stream. Marbles on a fresh TestScheduler per test (1 frame = 1 ms);
 * the transitions here are scripted so that each test shows one rule of the runner, not an actor's logic.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { merge, Subject, tap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { runActor, type Timer, type Transition } from '../../actors/actor.js';

type Out = { readonly type: 'out'; readonly v: string };
type Effect = Out | Timer<string>;

const ts = (): TestScheduler => new TestScheduler((a, b) => assert.equal(a, b));
const out = (v: string): Out => ({ type: 'out', v });
const later = (after: number, input: string): Timer<string> => ({ type: 'timer', after, input });
/** Marble values: each letter stands for the output carrying that letter. */
const outs = (letters: string): Record<string, Out> => Object.fromEntries([...letters].map((c) => [c, out(c)]));

/**
 * The state is every input seen so far, in order (so a state shows which transitions ran, and on what);
 * an input does what `script` says, or else emits itself.
 */
const scripted =
  (script: Record<string, readonly Effect[]>): Transition<string, string, Out> =>
  (state, input) => [state + input, script[input] ?? [out(input)]];

test('the effects of one input are emitted in order, in the frame of that input', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot('-a----b');
    const expected = ' -(123)b';
    expectObservable(runActor('', scripted({ a: [out('1'), out('2'), out('3')] }), input, s)).toBe(expected, outs('123b'));
  });
});

test('a timer effect is not emitted; its input is fed back `after` ms later on the scheduler, and may set another', () => {
  const s = ts();
  const states: string[] = [];
  s.run(({ hot, time, expectObservable }) => {
    const script = { t: [out('s'), later(time('-----|'), 'T')], T: [out('f'), later(time('--|'), 'U')] };
    const input = hot('-t-------');
    const expected = ' -s----f-U';
    expectObservable(runActor('', scripted(script), input, s, (x) => states.push(x))).toBe(expected, outs('sfU'));
  });
  assert.equal(states, ['t', 'tT', 'tTU']);
});

test('timers set by one input fire in the order of their delays, not of the effects', () => {
  const s = ts();
  s.run(({ hot, expectObservable }) => {
    const input = hot('-t-------');
    const expected = ' ----T---U';
    expectObservable(runActor('', scripted({ t: [later(7, 'U'), later(3, 'T')] }), input, s)).toBe(expected, outs('TU'));
  });
});

test('an input arriving while effects are emitted is queued: it runs after them, on the new state', () => {
  const s = ts();
  const states: string[] = [];
  s.run(({ hot, expectObservable }) => {
    // A subscriber that answers `p` at once (synchronously) sends `e` back into the actor mid-emission.
    const loop = new Subject<string>();
    const input = merge(hot('-a'), loop);
    const actor = runActor('', scripted({ a: [out('p'), out('q')] }), input, s, (x) => states.push(x));
    const expected = '-(pqe)';
    expectObservable(actor.pipe(tap((o) => o.v === 'p' && loop.next('e')))).toBe(expected, outs('pqe'));
  });
  assert.equal(states, ['a', 'ae']);
});

test('an error of the input ends the actor with that error, and its pending timer never fires', () => {
  const s = ts();
  const states: string[] = [];
  s.run(({ cold, expectObservable, expectSubscriptions }) => {
    const input = cold('-a-#', undefined, new Error('input failed'));
    const subs = '      ^--!';
    const expected = '  -a-#';
    expectObservable(runActor('', scripted({ a: [out('a'), later(5, 'T')] }), input, s, (x) => states.push(x))).toBe(
      expected,
      outs('a'),
      new Error('input failed'),
    );
    expectSubscriptions(input.subscriptions).toBe(subs);
  });
  assert.equal(states, ['a'], 'the timer due at frame 6 was cancelled');
});

test('completion of the input completes the actor at once; its pending timer never fires', () => {
  const s = ts();
  const states: string[] = [];
  s.run(({ cold, expectObservable, expectSubscriptions }) => {
    const input = cold('-a-|');
    const subs = '      ^--!';
    const expected = '  -a-|';
    expectObservable(runActor('', scripted({ a: [out('a'), later(5, 'T')] }), input, s, (x) => states.push(x))).toBe(expected, outs('a'));
    expectSubscriptions(input.subscriptions).toBe(subs);
  });
  assert.equal(states, ['a'], 'the timer due at frame 6 was cancelled');
});

test('an empty input completes at once; a silent one keeps the actor open', () => {
  const s = ts();
  s.run(({ cold, expectObservable, expectSubscriptions }) => {
    const empty = cold('|');
    const never = cold('-');
    expectObservable(runActor('', scripted({}), empty, s)).toBe('|');
    expectObservable(runActor('', scripted({}), never, s)).toBe('-');
    expectSubscriptions(empty.subscriptions).toBe('(^!)');
    expectSubscriptions(never.subscriptions).toBe('^');
  });
});

test('unsubscribing ends the input subscription and cancels pending timers', () => {
  const s = ts();
  const states: string[] = [];
  s.run(({ hot, expectObservable, expectSubscriptions }) => {
    const input = hot('-t-----u');
    const unsub = '    ----!';
    const subs = '     ^---!';
    const expected = ' -s';
    const actor = runActor('', scripted({ t: [out('s'), later(5, 'T')] }), input, s, (x) => states.push(x));
    expectObservable(actor, unsub).toBe(expected, outs('s'));
    expectSubscriptions(input.subscriptions).toBe(subs);
  });
  assert.equal(states, ['t'], 'neither the timer due at frame 6 nor the input at 7 reached the transition');
});

test('onState sees every state once, in order, from the initial one on, timer inputs included', () => {
  const s = ts();
  const states: string[] = [];
  s.run(({ hot, expectObservable }) => {
    const input = hot('-ab--c');
    const expected = ' -a--Tc';
    const actor = runActor('S:', scripted({ b: [later(2, 'T')] }), input, s, (x) => states.push(x));
    expectObservable(actor).toBe(expected, outs('aTc'));
  });
  assert.equal(states, ['S:a', 'S:ab', 'S:abT', 'S:abTc']);
});

test.run();
