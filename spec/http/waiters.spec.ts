/** Waiting HTTP clients: settled once, by the commit, a virtual-time timeout, or settleAll; bounded. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeBencode, type BDict } from '../../src/torrent/bencode.js';
import { COMMIT_TIMEOUT, createHttpWaiters, TOO_MANY_WAITING } from '../../src/http/waiters.js';
import { ManualClock } from '../helpers/manual-clock.js';

const reason = (b: Buffer): string => {
  const r = decodeBencode(b);
  if (!r.ok) throw new Error(r.error);
  return ((r.value as BDict).get('failure reason') as Buffer).toString();
};

test('settled by the commit; later settles and the timeout are ignored', async () => {
  const clock = new ManualClock(0);
  const w = createHttpWaiters({ scheduler: clock, timeoutMs: 1000, max: 10 });
  let settle: (b: Buffer) => void = () => {};
  const p = w.wait((s) => (settle = s));
  assert.is(w.size, 1);
  settle(Buffer.from('de'));
  settle(Buffer.from('le'));
  clock.advance(5000);
  assert.is((await p).toString(), 'de');
  assert.is(w.size, 0);
});

test('timeout on the injected scheduler', async () => {
  const clock = new ManualClock(0);
  const w = createHttpWaiters({ scheduler: clock, timeoutMs: 1000, max: 10 });
  let settle: (b: Buffer) => void = () => {};
  let got: Buffer | null = null;
  void w.wait((s) => (settle = s)).then((b) => (got = b));
  clock.advance(999);
  await Promise.resolve();
  assert.is(got, null);
  clock.advance(1);
  await Promise.resolve();
  assert.is(reason(got!), COMMIT_TIMEOUT);
  settle(Buffer.from('de')); // the commit arriving late changes nothing
  assert.is(reason(got!), COMMIT_TIMEOUT);
});

test('settleAll answers everyone; max bounds the waiting set; a throwing start is answered', async () => {
  const clock = new ManualClock(0);
  const w = createHttpWaiters({ scheduler: clock, timeoutMs: 1000, max: 2 });
  const a = w.wait(() => {});
  const b = w.wait(() => {});
  assert.is(reason(await w.wait(() => {})), TOO_MANY_WAITING);
  w.settleAll(Buffer.from('d14:failure reason8:stoppinge'));
  assert.is(reason(await a), 'stopping');
  assert.is(reason(await b), 'stopping');
  assert.is(w.size, 0);
  assert.ok(
    reason(
      await w.wait(() => {
        throw new Error('boom');
      }),
    ).includes('boom'),
  );
  assert.is(w.size, 0);
});

test.run();
