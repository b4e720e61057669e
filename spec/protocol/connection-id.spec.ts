import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hkdfSync } from 'node:crypto';
import {
  CONNECTION_KEY_PERIOD_S,
  checkConnectionId,
  connectionKeySchedule,
  createConnectionIdCache,
  deriveConnectionKey,
  type KeySchedule,
  mintConnectionId,
} from '../../src/protocol/connection-id.js';

const key = Buffer.alloc(32, 1);
const ip = Buffer.from([127, 0, 0, 1]);
const t0 = 1_700_000_000_000;

test('an ID is valid for the client that got it, for 2 minutes', () => {
  const id = mintConnectionId(key, t0, ip);
  assert.is(checkConnectionId(key, t0, ip, id), 'valid');
  assert.is(checkConnectionId(key, t0 + 120_000, ip, id), 'valid');
  assert.is(checkConnectionId(key, t0 + 121_000, ip, id), 'expired');
});

test('another address or another key makes it forged; another port of the same address does not', () => {
  const id = mintConnectionId(key, t0, ip);
  assert.is(checkConnectionId(key, t0, Buffer.from([127, 0, 0, 2]), id), 'forged');
  assert.is(checkConnectionId(key, t0, ip, id), 'valid', 'a second socket of the same client (libtorrent shares IDs)');
  assert.is(checkConnectionId(Buffer.alloc(32, 2), t0, ip, id), 'forged');
  assert.is(checkConnectionId(key, t0, ip, id ^ 1n), 'forged');
  assert.is(checkConnectionId(key, t0, ip, 0x41727101980n), 'forged');
});

test('a stamp from the future is refused', () => {
  const id = mintConnectionId(key, t0 + 5000, ip);
  assert.is(checkConnectionId(key, t0, ip, id), 'future');
});

test('IDs minted by one holder of the key verify at another (cluster failover)', () => {
  const id = mintConnectionId(Buffer.from(key), t0, ip);
  assert.is(checkConnectionId(Buffer.from(key), t0 + 1000, ip, id), 'valid');
});

test('the per-client cache gives the same answers as the full check: expiry, forgery, a new key', () => {
  const cache = createConnectionIdCache(2);
  const id = mintConnectionId(key, t0, ip);
  assert.is(cache.check(key, t0, ip, id), 'valid');
  assert.is(cache.check(key, t0 + 120_000, ip, id), 'valid', 'cached');
  assert.is(cache.check(key, t0 + 121_000, ip, id), 'expired', 'a cached ID still ages');
  assert.is(cache.check(key, t0, ip, id ^ 1n), 'forged', 'another ID from the same client is checked in full');
  assert.is(cache.check(key, t0, Buffer.from([10, 0, 0, 1]), id), 'forged', 'the same ID from another address');
  cache.clear();
  assert.is(cache.check(Buffer.alloc(32, 9), t0, ip, id), 'forged', 'after a key change the cache is cleared');
});

const secret = Buffer.from('a cluster secret of enough length');
const PERIOD_MS = CONNECTION_KEY_PERIOD_S * 1000;
/** The first millisecond of the period after t0's. */
const rollover = (Math.floor(t0 / PERIOD_MS) + 1) * PERIOD_MS;

test('with a secret: a period key is HKDF-SHA256(secret, salt udp-tracker-cluster, info "connection-id key v1, period N"), 32 bytes', () => {
  const p = Math.floor(t0 / PERIOD_MS);
  const want = Buffer.from(hkdfSync('sha256', secret, 'udp-tracker-cluster', `connection-id key v1, period ${p}`, 32));
  assert.ok(deriveConnectionKey(secret, p).equals(want));
  assert.not.ok(deriveConnectionKey(secret, p + 1).equals(want), 'each period its own key');
  assert.ok(CONNECTION_KEY_PERIOD_S >= 120, 'a valid ID is in the current period or the one before');
});

test('with a secret: an ID minted just before a rollover stays valid after it, for its 2 minutes', () => {
  const keys = connectionKeySchedule(secret);
  const id = mintConnectionId(keys, rollover - 1000, ip);
  assert.is(checkConnectionId(keys, rollover + 1000, ip, id), 'valid');
  assert.is(checkConnectionId(keys, rollover + 119_000, ip, id), 'valid');
  assert.is(checkConnectionId(keys, rollover + 121_000, ip, id), 'expired');
  const after = mintConnectionId(keys, rollover + 1000, ip);
  assert.is.not(after >> 32n, id >> 32n);
  assert.is(checkConnectionId(keys, rollover + 2000, ip, after), 'valid');
});

test('with a secret: another instance derives the same keys (failover keeps IDs valid, nothing transferred); another secret does not', () => {
  const master = connectionKeySchedule(secret);
  const next = connectionKeySchedule(Buffer.from(secret));
  const id = mintConnectionId(master, rollover - 30_000, ip);
  assert.is(checkConnectionId(next, rollover + 60_000, ip, id), 'valid');
  assert.is(checkConnectionId(connectionKeySchedule(Buffer.from('some other secret of enough length')), rollover, ip, id), 'forged');
  assert.is(checkConnectionId(next, rollover, Buffer.from([127, 0, 0, 2]), id), 'forged');
  assert.is(checkConnectionId(next, rollover, ip, id ^ 1n), 'forged');
});

test('with a secret: keys are derived once per period, and never for a stamp no valid ID can have', () => {
  const real = connectionKeySchedule(secret);
  const asked: number[] = [];
  const spy: KeySchedule = {
    periodS: real.periodS,
    keyFor: (p) => {
      asked.push(p);
      return real.keyFor(p);
    },
  };
  const id = mintConnectionId(spy, t0, ip);
  const p = Math.floor(t0 / PERIOD_MS);
  assert.equal(asked, [p]);
  const stamped = (sec: number): bigint => (BigInt(sec) << 32n) | 0xdeadbeefn;
  asked.length = 0;
  assert.is(checkConnectionId(spy, t0, ip, stamped(Math.floor(t0 / 1000) + 10 * CONNECTION_KEY_PERIOD_S)), 'future');
  assert.is(checkConnectionId(spy, t0, ip, stamped(Math.floor(t0 / 1000) - 10 * CONNECTION_KEY_PERIOD_S)), 'expired');
  assert.is(checkConnectionId(spy, t0, ip, stamped(0)), 'expired');
  assert.equal(asked, [], 'no key asked for stamps outside the periods in play');
  assert.is(checkConnectionId(spy, t0, ip, id), 'valid');
  assert.is(checkConnectionId(spy, t0, ip, stamped(Math.floor(t0 / 1000))), 'forged', 'a forged tag in the current period');
  // The schedule keeps what it derived: the same period's key is the same Buffer.
  assert.is(real.keyFor(p), real.keyFor(p));
});

test('with a secret: the per-client cache works with a schedule and keeps its entries across a rollover', () => {
  const keys = connectionKeySchedule(secret);
  const cache = createConnectionIdCache();
  const id = mintConnectionId(keys, rollover - 5000, ip);
  assert.is(cache.check(keys, rollover - 4000, ip, id), 'valid');
  assert.is(cache.check(keys, rollover + 4000, ip, id), 'valid');
  assert.is(cache.check(keys, rollover + 200_000, ip, id), 'expired');
});

test.run();
