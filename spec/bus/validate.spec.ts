import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLUSTER_TYPES, type ClusterMessage, type WireChange } from '../../src/bus/messages.js';
import { parseClusterMessage } from '../../src/bus/validate.js';
import { changesFromWire, fromWire, toWire } from '../../src/bus/wire.js';
import type { AnnounceChange, Change, ExpireChange, TorrentChange } from '../../src/domain/types.js';

// ---------------------------------------------------------------- parseClusterMessage

const IH = 'ab'.repeat(20);
const wireAnnounce: WireChange = {
  k: 'a', ih: IH, pid: 'cd'.repeat(20), ip: '0a000001', port: 6881, up: '1', down: '2', left: '3', ev: 2, at: 1000,
};

/** One well-formed message of every type, with the fields that type needs. */
const GOOD: Record<ClusterMessage['type'], ClusterMessage> = {
  keepalive: { type: 'keepalive', from: 1, epoch: 0, role: 'starting', synced: false, nonce: 'abcd', applied: 0, startedAt: 1_700_000_000_000 },
  election: { type: 'election', from: 2, epoch: 3 },
  answer: { type: 'answer', from: 3, epoch: 3, to: 2 },
  coordinator: { type: 'coordinator', from: 3, epoch: 4 },
  prepare: { type: 'prepare', from: 3, epoch: 4, seq: 10, changes: [wireAnnounce, { k: 'x', before: 5 }] },
  vote: { type: 'vote', from: 2, epoch: 4, to: 3, seq: 10, ok: false, reason: 'sequence gap' },
  commit: { type: 'commit', from: 3, epoch: 4, seq: 10 },
  abort: { type: 'abort', from: 3, epoch: 4, seq: 10 },
  'sync-request': { type: 'sync-request', from: 5, epoch: 4, applied: 0 },
  snapshot: { type: 'snapshot', from: 3, epoch: 4, to: 5, seq: 10, part: 0, parts: 1, key: 'ef'.repeat(32), changes: [] },
  'duplicate-id': { type: 'duplicate-id', from: 5, epoch: 0, nonce: 'ffff' },
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
  'sync-request': ['applied'],
  snapshot: ['to', 'seq', 'part', 'parts', 'key', 'changes'],
  'duplicate-id': ['nonce'],
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
  to: 'int', seq: 'int', applied: 'int', startedAt: 'int', part: 'int', parts: 'int',
  synced: 'bool', ok: 'bool', nonce: 'str', key: 'str', changes: 'array', role: 'role',
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
  assert.ok(parseClusterMessage({ ...GOOD.commit, from: Number.MAX_SAFE_INTEGER, epoch: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER }));
});

test('anything but a plain object is rejected', () => {
  for (const raw of [null, undefined, 0, 1, 'keepalive', true, [], [GOOD.election], JSON.stringify(GOOD.election), () => GOOD.election]) {
    assert.is(parseClusterMessage(raw), null, String(raw));
  }
  // Not even an array dressed up with the right properties.
  assert.is(parseClusterMessage(Object.assign([], GOOD.election)), null);
});

test('an unknown or missing type is rejected, including names inherited from Object', () => {
  for (const type of ['hello', '', 'KEEPALIVE', 'role', 'reply', 'constructor', 'toString', '__proto__', 'hasOwnProperty', 5, null, undefined]) {
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
  assert.is(parseClusterMessage({ ...GOOD.commit, type: 'snapshot' }), null);
  // Extra fields are tolerated (forward compatibility) and do not change the verdict.
  assert.ok(parseClusterMessage({ ...GOOD.election, extra: { nested: true } }));
});

// ---------------------------------------------------------------- toWire / fromWire

const U64_MAX = (1n << 64n) - 1n;
const v4: AnnounceChange = {
  kind: 'announce', infoHash: Buffer.alloc(20, 0x11), peerId: Buffer.from('-qB4650-abcdefghijkl'), ip: Buffer.from([192, 168, 1, 20]),
  port: 51413, uploaded: 123n, downloaded: 456n, left: 789n, event: 2, at: 1_700_000_000_123,
};
const v6max: AnnounceChange = {
  kind: 'announce', infoHash: Buffer.alloc(20, 0xff), peerId: Buffer.alloc(20, 0), ip: Buffer.from('20010db8000000000000ff0000428329', 'hex'),
  port: 65535, uploaded: U64_MAX, downloaded: U64_MAX, left: U64_MAX, event: 3, at: Number.MAX_SAFE_INTEGER,
};
const v6zero: AnnounceChange = { ...v6max, ip: Buffer.alloc(16, 0), port: 0, uploaded: 0n, downloaded: 0n, left: 0n, event: 0, at: 0 };
const expire: ExpireChange = { kind: 'expire', before: 1_700_000_000_000 };
const torrentFull: TorrentChange = { kind: 'torrent', infoHash: Buffer.alloc(20, 0x42), name: 'Ubuntu 24.04 — “desktop”.iso', size: U64_MAX, completed: 77 };
const torrentBare: TorrentChange = { kind: 'torrent', infoHash: Buffer.alloc(20, 0x43), name: null, size: null };
const torrentZero: TorrentChange = { kind: 'torrent', infoHash: Buffer.alloc(20, 0x44), name: '', size: 0n, completed: 0 };
const ALL: Change[] = [v4, v6max, v6zero, { ...v4, event: 1 }, expire, { kind: 'expire', before: 0 }, torrentFull, torrentBare, torrentZero];

test('every change kind survives toWire → JSON → fromWire unchanged (u64 max, IPv6, all events)', () => {
  for (const c of ALL) {
    const w = toWire(c);
    const back = fromWire(JSON.parse(JSON.stringify(w)));
    assert.equal(back, c, `${c.kind} ${JSON.stringify(w)}`);
  }
  assert.equal(changesFromWire(JSON.parse(JSON.stringify(ALL.map(toWire)))), ALL);
});

test('the wire form is JSON-safe: hex bytes, decimal u64 strings', () => {
  assert.equal(toWire(v6max), {
    k: 'a', ih: 'ff'.repeat(20), pid: '00'.repeat(20), ip: '20010db8000000000000ff0000428329', port: 65535,
    up: '18446744073709551615', down: '18446744073709551615', left: '18446744073709551615', ev: 3, at: Number.MAX_SAFE_INTEGER,
  });
  assert.equal(toWire(torrentBare), { k: 't', ih: '43'.repeat(20), name: null, size: null });
  assert.not.ok('completed' in toWire(torrentBare), 'an unknown completed count is left out, not sent as undefined');
  assert.equal(toWire(torrentFull), { k: 't', ih: '42'.repeat(20), name: torrentFull.name, size: '18446744073709551615', completed: 77 });
  assert.equal(toWire(expire), { k: 'x', before: 1_700_000_000_000 });
});

test('fromWire rejects non-objects and unknown kinds', () => {
  for (const w of [null, undefined, 0, 'a', true, [], ['a'], {}, { k: 'z' }, { k: 'announce' }, { kind: 'expire', before: 1 }]) {
    assert.is(fromWire(w), null, JSON.stringify(w));
  }
});

test('fromWire rejects hex fields of the wrong length or alphabet', () => {
  const a = toWire(v4) as Record<string, unknown>;
  const bad: [string, unknown][] = [
    ['ih', 'ab'.repeat(19)], ['ih', 'ab'.repeat(21)], ['ih', `${'ab'.repeat(19)}a`], ['ih', 'AB'.repeat(20)], ['ih', 'zz'.repeat(20)], ['ih', 5],
    ['pid', 'cd'.repeat(19)], ['pid', 'cd'.repeat(21)], ['pid', null],
    ['ip', '0a0000'], ['ip', '0a00000102'], ['ip', '00'.repeat(15)], ['ip', '00'.repeat(17)], ['ip', ''], ['ip', 'g'.repeat(8)], ['ip', 167772161],
  ];
  for (const [f, v] of bad) assert.is(fromWire({ ...a, [f]: v }), null, `${f} = ${JSON.stringify(v)}`);
  const t = toWire(torrentFull) as Record<string, unknown>;
  for (const ih of ['ab'.repeat(19), 'ab'.repeat(21), '', 'XY'.repeat(20)]) assert.is(fromWire({ ...t, ih }), null, `torrent ih ${ih}`);
});

test('fromWire rejects u64 values out of range or not in decimal', () => {
  const a = toWire(v4) as Record<string, unknown>;
  for (const f of ['up', 'down', 'left']) {
    for (const v of ['18446744073709551616', '99999999999999999999', '123456789012345678901', '-1', '1.5', '0x10', '1e3', ' 1', '', 12, null, `${'0'.repeat(25)}1`, '9'.repeat(5000)]) {
      assert.is(fromWire({ ...a, [f]: v }), null, `${f} = ${JSON.stringify(v)}`);
    }
  }
  const t = toWire(torrentFull) as Record<string, unknown>;
  for (const size of ['18446744073709551616', '-5', 'big', 5]) assert.is(fromWire({ ...t, size }), null, `size ${JSON.stringify(size)}`);
});

test('fromWire rejects an event above 3, a port above 65535 and other bad integers', () => {
  const a = toWire(v4) as Record<string, unknown>;
  const bad: [string, unknown][] = [
    ['ev', 4], ['ev', -1], ['ev', 1.5], ['ev', '2'], ['ev', null],
    ['port', 65536], ['port', -1], ['port', 80.5], ['port', '80'],
    ['at', -1], ['at', 1.5], ['at', '1000'], ['at', 2 ** 53],
  ];
  for (const [f, v] of bad) assert.is(fromWire({ ...a, [f]: v }), null, `${f} = ${JSON.stringify(v)}`);
  for (const f of ['ih', 'pid', 'ip', 'port', 'up', 'down', 'left', 'ev', 'at']) {
    const w = { ...a };
    delete w[f];
    assert.is(fromWire(w), null, `announce without ${f}`);
  }
});

test('fromWire checks expire and torrent fields', () => {
  for (const before of [-1, 1.5, '5', null, undefined]) assert.is(fromWire({ k: 'x', before }), null, `before ${String(before)}`);
  const t = toWire(torrentFull) as Record<string, unknown>;
  const bad: [string, unknown][] = [['name', 5], ['name', undefined], ['name', {}], ['size', undefined], ['completed', -1], ['completed', 1.5], ['completed', '3'], ['completed', null]];
  for (const [f, v] of bad) assert.is(fromWire({ ...t, [f]: v }), null, `torrent ${f} = ${JSON.stringify(v)}`);
});

test('changesFromWire refuses the whole list if one change is bad, or if it is not a list', () => {
  const good = ALL.map(toWire);
  assert.is(changesFromWire([...good, { k: 'a' }]), null);
  assert.is(changesFromWire([null]), null);
  assert.is(changesFromWire({ 0: good[0], length: 1 }), null);
  assert.is(changesFromWire('[]'), null);
  assert.equal(changesFromWire([]), []);
});

test.run();
