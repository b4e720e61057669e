import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkConnectionId, createConnectionIdCache, mintConnectionId } from '../../src/protocol/connection-id.js';

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

test.run();
