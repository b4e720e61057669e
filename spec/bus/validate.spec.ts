import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLUSTER_TYPES, type ClusterMessage } from '../../src/bus/messages.js';
import { parseClusterMessage } from '../../src/bus/validate.js';
import { encodeChanges } from '../../src/bus/wire.js';

// ---------------------------------------------------------------- parseClusterMessage

const IH = 'ab'.repeat(20);
const wireChanges = encodeChanges([
  {
    kind: 'announce',
    infoHash: Buffer.from(IH, 'hex'),
    peerId: Buffer.alloc(20, 0xcd),
    ip: Buffer.from([10, 0, 0, 1]),
    port: 6881,
    uploaded: 1n,
    downloaded: 2n,
    left: 3n,
    event: 2,
    at: 1000,
  },
  { kind: 'expire', before: 5 },
]);

/** One well-formed message of every type, with the fields that type needs. */
const GOOD: Record<ClusterMessage['type'], ClusterMessage> = {
  keepalive: {
    type: 'keepalive',
    from: 1,
    epoch: 0,
    role: 'starting',
    synced: false,
    nonce: 'abcd',
    applied: 0,
    startedAt: 1_700_000_000_000,
  },
  election: { type: 'election', from: 2, epoch: 3 },
  answer: { type: 'answer', from: 3, epoch: 3, to: 2 },
  coordinator: { type: 'coordinator', from: 3, epoch: 4 },
  prepare: { type: 'prepare', from: 3, epoch: 4, seq: 10, changes: wireChanges },
  vote: { type: 'vote', from: 2, epoch: 4, to: 3, seq: 10, ok: false, reason: 'sequence gap' },
  commit: { type: 'commit', from: 3, epoch: 4, seq: 10 },
  abort: { type: 'abort', from: 3, epoch: 4, seq: 10 },
  'sync-request': { type: 'sync-request', from: 5, epoch: 4, applied: 0, transfer: '0123456789abcdef', tip: 3 },
  'sync-ack': { type: 'sync-ack', from: 5, epoch: 4, to: 3, transfer: '0123456789abcdef', next: 2 },
  transfer: {
    type: 'transfer',
    from: 3,
    epoch: 4,
    to: 5,
    transfer: '0123456789abcdef',
    kind: 'snapshot',
    seq: 10,
    total: 100,
    part: 0,
    last: true,
    key: 'ef'.repeat(32),
    data: '',
  },
};

/** Fields each type needs besides type, from and epoch. */
const NEEDS: Record<ClusterMessage['type'], string[]> = {
  keepalive: ['role', 'synced', 'nonce', 'applied', 'startedAt'],
  election: [],
  answer: ['to'],
  coordinator: [],
  prepare: ['seq', 'changes'],
  vote: ['to', 'seq', 'ok'],
  commit: ['seq'],
  abort: ['seq'],
  'sync-request': ['applied', 'transfer'],
  'sync-ack': ['to', 'transfer', 'next'],
  transfer: ['to', 'transfer', 'kind', 'seq', 'total', 'part', 'last', 'data'],
};

/** Values of the wrong type for a field, by what the field should be. */
const WRONG: Record<string, unknown[]> = {
  int: [-1, 1.5, '3', null, true, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, [], {}],
  bool: ['true', 1, 0, null, {}],
  str: [5, null, true, {}, ['a']],
  array: [{}, 'x', null, 3, { length: 0 }],
  role: ['leader', '', 5, null, 'Master'],
};
const KIND: Record<string, keyof typeof WRONG> = {
  to: 'int',
  seq: 'int',
  applied: 'int',
  startedAt: 'int',
  part: 'int',
  parts: 'int',
  synced: 'bool',
  ok: 'bool',
  nonce: 'str',
  key: 'str',
  changes: 'str',
  role: 'role',
  next: 'int',
  total: 'int',
  transfer: 'str',
  kind: 'str',
  last: 'bool',
  data: 'str',
};

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const without = (o: object, k: string): Record<string, unknown> => {
  const c = clone(o) as Record<string, unknown>;
  delete c[k];
  return c;
};

test('the examples cover every cluster message type', () => {
  assert.equal(Object.keys(GOOD).sort(), [...CLUSTER_TYPES].sort());
  assert.equal(Object.keys(NEEDS).sort(), [...CLUSTER_TYPES].sort());
});

test('every well-formed cluster message is accepted as it is (also after a JSON round trip)', () => {
  for (const [type, m] of Object.entries(GOOD)) {
    assert.equal(parseClusterMessage(m), m, type);
    assert.equal(parseClusterMessage(clone(m)), m, `${type} (JSON)`);
  }
  // Every role is a valid keepalive role; a vote needs no reason; large safe integers are fine.
  for (const role of ['starting', 'syncing', 'electing', 'master', 'slave', 'isolated', 'stopped']) {
    assert.ok(parseClusterMessage({ ...GOOD.keepalive, role }), role);
  }
  assert.ok(parseClusterMessage(without(GOOD.vote, 'reason')));
  // A transfer part carries a key only in a cluster without a secret; a request's tip is optional.
  assert.ok(parseClusterMessage(without(GOOD.transfer, 'key')));
  assert.ok(parseClusterMessage(without(GOOD['sync-request'], 'tip')));
  for (const bad of [...WRONG.str!, 'ef', 'EF'.repeat(32)]) {
    assert.is(parseClusterMessage({ ...GOOD.transfer, key: bad }), null, `transfer.key = ${JSON.stringify(bad)}`);
  }
  // Transfer IDs are 16 hex digits; a part is a snapshot or a log; its data is base64 (length a multiple of 4).
  for (const bad of ['', '0123456789ABCDEF', '0123456789abcde', 5]) {
    assert.is(parseClusterMessage({ ...GOOD['sync-ack'], transfer: bad }), null, `sync-ack.transfer = ${JSON.stringify(bad)}`);
  }
  assert.is(parseClusterMessage({ ...GOOD.transfer, kind: 'full' }), null);
  assert.is(parseClusterMessage({ ...GOOD.transfer, data: 'abc' }), null);
  assert.ok(
    parseClusterMessage({ ...GOOD.commit, from: Number.MAX_SAFE_INTEGER, epoch: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER }),
  );
});

test('anything but a plain object is rejected', () => {
  for (const raw of [null, undefined, 0, 1, 'keepalive', true, [], [GOOD.election], JSON.stringify(GOOD.election), () => GOOD.election]) {
    assert.is(parseClusterMessage(raw), null, String(raw));
  }
  // Not even an array dressed up with the right properties.
  assert.is(parseClusterMessage(Object.assign([], GOOD.election)), null);
});

test('an unknown or missing type is rejected, including names inherited from Object', () => {
  for (const type of [
    'hello',
    '',
    'KEEPALIVE',
    'role',
    'reply',
    'constructor',
    'toString',
    '__proto__',
    'hasOwnProperty',
    5,
    null,
    undefined,
  ]) {
    assert.is(parseClusterMessage({ ...GOOD.election, type }), null, String(type));
  }
  assert.is(parseClusterMessage(without(GOOD.election, 'type')), null);
});

test('from must be a positive safe integer; epoch a non-negative one', () => {
  for (const m of Object.values(GOOD)) {
    for (const bad of [0, ...WRONG.int!]) assert.is(parseClusterMessage({ ...m, from: bad }), null, `${m.type} from=${String(bad)}`);
    for (const bad of WRONG.int!) assert.is(parseClusterMessage({ ...m, epoch: bad }), null, `${m.type} epoch=${String(bad)}`);
    assert.is(parseClusterMessage(without(m, 'from')), null, `${m.type} without from`);
    assert.is(parseClusterMessage(without(m, 'epoch')), null, `${m.type} without epoch`);
  }
});

test('a message missing a field its type needs is rejected', () => {
  for (const [type, fields] of Object.entries(NEEDS)) {
    for (const f of fields) {
      assert.is(parseClusterMessage(without(GOOD[type as ClusterMessage['type']], f)), null, `${type} without ${f}`);
    }
  }
});

test('a field of the wrong type is rejected', () => {
  for (const [type, fields] of Object.entries(NEEDS)) {
    const m = GOOD[type as ClusterMessage['type']];
    for (const f of fields) {
      for (const bad of WRONG[KIND[f]!]!) {
        assert.is(parseClusterMessage({ ...m, [f]: bad }), null, `${type}.${f} = ${JSON.stringify(bad)}`);
      }
    }
  }
});

test('fields of other types do not stand in for the ones a type needs', () => {
  // An answer has no seq requirement, but a commit does: an answer-shaped commit is not a commit.
  assert.is(parseClusterMessage({ ...GOOD.answer, type: 'commit' }), null);
  assert.is(parseClusterMessage({ ...GOOD.election, type: 'keepalive' }), null);
  assert.is(parseClusterMessage({ ...GOOD.commit, type: 'transfer' }), null);
  // Extra fields are tolerated (forward compatibility) and do not change the verdict.
  assert.ok(parseClusterMessage({ ...GOOD.election, extra: { nested: true } }));
});

test.run();
