/** The charts' sampler in virtual time: one reading per period on the scheduler, nothing before, history kept. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { EMPTY_HISTORY, type History, record, type Totals } from '../../src/domain/rates.js';
import { chartSamples } from '../../src/node/host.js';

const scheduler = (): TestScheduler => new TestScheduler((a, e) => assert.equal(a, e));

test('a sample a second: UDP at 100/s, HTTP at 10/s, one commit of 4 ms every other second, live instances as read', () => {
  const ts = scheduler();
  ts.run(({ expectObservable }) => {
    // The totals as a function of virtual time, as the metrics would have counted them.
    const read = (): Totals => {
      const s = Math.floor(ts.now() / 1000);
      return {
        at: ts.now(),
        udp: 100 * s,
        http: 10 * s,
        commits: Math.floor(s / 2),
        commitSeconds: 0.004 * Math.floor(s / 2),
        live: s < 3 ? 3 : 2,
      };
    };
    const udp = chartSamples(read, 1000, ts).pipe(
      map((h) => h.samples.map((x) => `${x.udp}/${x.http}/${x.commitMs ?? '-'}/${x.live}`).join(' ')),
    );
    expectObservable(udp, '^ 4500ms !').toBe('a 999ms b 999ms c 999ms d 999ms e', {
      a: '',
      b: '100/10/-/3',
      c: '100/10/-/3 100/10/4/3',
      d: '100/10/-/3 100/10/4/3 100/10/-/2',
      e: '100/10/-/3 100/10/4/3 100/10/-/2 100/10/4/2',
    });
  });
});

test('the window keeps the last `keep` samples; a seed history carries on (a restarted instance keeps its chart)', () => {
  const ts = scheduler();
  ts.run(({ expectObservable }) => {
    let n = 0;
    const read = (): Totals => {
      n += 5;
      return { at: ts.now(), udp: n, http: 0, commits: 0, commitSeconds: 0, live: 1 };
    };
    const seed: History = [1, 2].reduce(
      (h, i) => record(h, { at: i * 1000, udp: i * 1000, http: 0, commits: 0, commitSeconds: 0, live: 1 }),
      EMPTY_HISTORY,
    );
    const out = chartSamples(read, 500, ts, { last: null, samples: seed.samples }, 3).pipe(
      map((h) => h.samples.map((x) => x.udp).join(' ')),
    );
    expectObservable(out, '^ 1600ms !').toBe('a 499ms b 499ms c 499ms d', { a: '1000', b: '1000 10', c: '1000 10 10', d: '10 10 10' });
  });
});

test('unsubscribing stops the readings', () => {
  const ts = scheduler();
  let reads = 0;
  ts.run(({ expectObservable, flush }) => {
    const read = (): Totals => ({ at: ts.now(), udp: reads++, http: 0, commits: 0, commitSeconds: 0, live: 1 });
    expectObservable(chartSamples(read, 1000, ts).pipe(map(() => 'x')), '^ 2500ms !').toBe('x 999ms x 999ms x');
    flush();
  });
  assert.is(reads, 3);
});

test.run();
