import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkConnectionId, mintConnectionId } from '../../src/protocol/connection-id.js';

const key = Buffer.alloc(32, 1);
const ip = Buffer.from([127, 0, 0, 1]);
const t0 = 1_700_000_000_000;

test('an ID is valid for the client that got it, for 2 minutes', () => {
  const id = mintConnectionId(key, t0, ip, 6881);
  assert.is(checkConnectionId(key, t0, ip, 6881, id), 'valid');
  assert.is(checkConnectionId(key, t0 + 120_000, ip, 6881, id), 'valid');
  assert.is(checkConnectionId(key, t0 + 121_000, ip, 6881, id), 'expired');
});

test('another address, another port or another key makes it forged', () => {
  const id = mintConnectionId(key, t0, ip, 6881);
  assert.is(checkConnectionId(key, t0, Buffer.from([127, 0, 0, 2]), 6881, id), 'forged');
  assert.is(checkConnectionId(key, t0, ip, 6882, id), 'forged');
  assert.is(checkConnectionId(Buffer.alloc(32, 2), t0, ip, 6881, id), 'forged');
  assert.is(checkConnectionId(key, t0, ip, 6881, id ^ 1n), 'forged');
  assert.is(checkConnectionId(key, t0, ip, 6881, 0x41727101980n), 'forged');
});

test('a stamp from the future is refused', () => {
  const id = mintConnectionId(key, t0 + 5000, ip, 6881);
  assert.is(checkConnectionId(key, t0, ip, 6881, id), 'future');
});

test('IDs minted by one holder of the key verify at another (cluster failover)', () => {
  const id = mintConnectionId(Buffer.from(key), t0, ip, 1);
  assert.is(checkConnectionId(Buffer.from(key), t0 + 1000, ip, 1, id), 'valid');
});

test.run();
