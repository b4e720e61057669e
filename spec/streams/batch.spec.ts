import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestScheduler } from 'rxjs/testing';
import { batch } from '../../streams/batch.js';

const scheduler = (): TestScheduler => new TestScheduler((a, b) => assert.equal(a, b));

test('a batch closes windowMs after its first item', () => {
  const ts = scheduler();
  ts.run(({ cold, expectObservable }) => {
    const src = cold('a-b------c--|');
    const out = '-----x------(y|)';
    expectObservable(src.pipe(batch(5, 100, ts))).toBe(out, { x: ['a', 'b'], y: ['c'] });
  });
});

test('a full batch closes at once; no timer runs while idle', () => {
  const ts = scheduler();
  ts.run(({ cold, expectObservable }) => {
    const src = cold('(abcd) 20ms e|');
    expectObservable(src.pipe(batch(3, 2, ts))).toBe('(xy) 23ms (z|)', { x: ['a', 'b'], y: ['c', 'd'], z: ['e'] });
  });
});

test.run();
