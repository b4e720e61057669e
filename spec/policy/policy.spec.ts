import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRateLimiter } from '../../src/policy/rate-limit.js';
import { hashAllowed, parseHashList } from '../../src/policy/hash-list.js';

test('token bucket: a burst, then the rate; addresses are independent; the table is bounded', () => {
  const rl = createRateLimiter(5, 10, 3);
  let ok = 0;
  for (let i = 0; i < 50; i++) if (rl.allow('10.0.0.1', 1000)) ok++;
  assert.is(ok, 10, 'burst of 10');
  assert.ok(rl.allow('10.0.0.2', 1000), 'another address has its own bucket');
  assert.not.ok(rl.allow('10.0.0.1', 1100), '0.1 s later: half a token');
  assert.ok(rl.allow('10.0.0.1', 1200), '0.2 s later: one token');
  assert.is(rl.dropped, 41);
  for (const ip of ['a', 'b', 'c', 'd']) rl.allow(ip, 2000);
  let again = 0;
  for (let i = 0; i < 20; i++) if (rl.allow('10.0.0.1', 2000)) again++;
  assert.is(again, 10, 'forgotten (least recently seen) address starts with a full bucket');
});

test('hash lists: comments and blank lines ignored, case folded, a bad line refuses the whole file', () => {
  const a = 'ab'.repeat(20);
  const r = parseHashList(`# allowed\n${a.toUpperCase()}\n\n${'01'.repeat(20)}  # second\n`);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal([...r.list], [a, '01'.repeat(20)]);
  const bad = parseHashList(`${a}\nnot-a-hash\n`);
  assert.ok(!bad.ok && /line 2/.test(bad.error));
  const h = Buffer.from(a, 'hex');
  const other = Buffer.alloc(20, 7);
  assert.ok(hashAllowed({ allow: null, deny: null }, other));
  assert.ok(hashAllowed({ allow: r.list, deny: null }, h));
  assert.not.ok(hashAllowed({ allow: r.list, deny: null }, other));
  assert.not.ok(hashAllowed({ allow: r.list, deny: new Set([a]) }, h), 'deny wins');
});

test.run();
