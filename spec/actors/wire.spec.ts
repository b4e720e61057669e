/** wireActors: actors fed by a routing table, cycles included; one subscription starts and stops them all. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { delay, map, type Observable, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { wireActors } from '../../actors/wire.js';

const scheduler = (): TestScheduler => new TestScheduler((a, b) => assert.equal(a, b));

test('routes carry outputs to other actors and to the outside, around a cycle, in virtual time', () => {
  const ts = scheduler();
  ts.run(({ expectObservable }) => {
    // ping answers n with n + 1 after 5 ms; pong echoes at once; the route stops the cycle at 3.
    const wired = wireActors(
      {
        ping: (in$: Observable<number>) =>
          in$.pipe(
            delay(5),
            map((n) => n + 1),
          ),
        pong: (in$: Observable<number>) => in$,
      },
      {
        ping: (n, to, emit: (e: string) => void) => {
          emit(`ping ${n}`);
          if (n < 3) to.pong(n);
        },
        pong: (n, to, emit) => {
          emit(`pong ${n}`);
          to.ping(n);
        },
      },
    );
    ts.schedule(() => wired.to.ping(0), 1);
    expectObservable(wired.output$, '^ 30ms !').toBe('6ms (ab) 1ms (cd) 1ms e', {
      a: 'ping 1',
      b: 'pong 1',
      c: 'ping 2',
      d: 'pong 2',
      e: 'ping 3',
    });
  });
});

test('unsubscribing stops every actor: inputs sent afterwards produce nothing and pending work is dropped', () => {
  const ts = scheduler();
  ts.run(({ cold, expectSubscriptions }) => {
    const source = cold<number>('5ms x', { x: 9 });
    const seen: string[] = [];
    const wired = wireActors(
      { a: (in$: Observable<number>) => in$.pipe(delay(1)), b: (_in$: Observable<number>) => source },
      { a: (n, _to, emit: (e: string) => void) => emit(`a ${n}`), b: (n, to) => to.a(n) },
    );
    const sub = wired.output$.subscribe((e) => seen.push(e));
    ts.schedule(() => wired.to.a(1), 1);
    ts.schedule(() => sub.unsubscribe(), 3);
    ts.schedule(() => wired.to.a(2), 4);
    expectSubscriptions(source.subscriptions).toBe('^--!');
    ts.flush();
    assert.equal(seen, ['a 1']);
  });
});

test('an error in an actor ends the wired output with that error', () => {
  const ts = scheduler();
  ts.run(({ expectObservable }) => {
    const boom = new Subject<number>();
    const wired = wireActors({ a: (_in$: Observable<number>) => boom }, { a: () => {} });
    ts.schedule(() => boom.error('broken'), 2);
    expectObservable(wired.output$).toBe('--#', undefined, 'broken');
  });
});

test.run();
