import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAssembler, SNAPSHOT_CHUNK, snapshotMessages, type Assembled } from '../../actors/state-transfer.js';
import { createRepository, type Mirror } from '../../actors/repository.js';
import type { ClusterMessage } from '../../src/bus/messages.js';
import { decodeChanges } from '../../src/bus/wire.js';
import { applyChange, createStore, leechers, peersOf } from '../../src/domain/swarm.js';
import type { AnnounceChange, Change, SwarmStore, TorrentChange } from '../../src/domain/types.js';
import type { EventCode } from '../../src/protocol/constants.js';

type Snapshot = Extract<ClusterMessage, { type: 'snapshot' }>;

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hash = (n: number, tag: number): Buffer => {
  const b = Buffer.alloc(20, tag);
  b.writeUInt32BE(n, 0);
  return b;
};

/**
 * A repository history of `n` changes: torrent records (some with a completed count, some with name and size)
 * and announces of every event, from IPv4 and IPv6 peers, with u64 extremes.
 */
function history(n: number, seed = 1): Change[] {
  const r = rng(seed);
  const torrents = 40;
  const out: Change[] = [];
  for (let i = 0; out.length < n; i++) {
    const t = Math.floor(r() * torrents);
    if (i % 9 === 0) {
      const c: TorrentChange = {
        kind: 'torrent',
        infoHash: hash(t, 0xaa),
        name: r() < 0.7 ? `torrent ${t} ✓` : null,
        size: r() < 0.7 ? BigInt(t) * 1_000_003n : null,
        ...(r() < 0.6 ? { completed: Math.floor(r() * 500) } : {}),
      };
      out.push(c);
      continue;
    }
    const p = Math.floor(r() * 300);
    const v6 = p % 5 === 0;
    const left = r() < 0.4 ? 0n : r() < 0.05 ? (1n << 64n) - 1n : BigInt(Math.floor(r() * 1e9));
    const e = r();
    const event: EventCode = e < 0.1 ? 3 : e < 0.3 ? 1 : e < 0.5 ? 2 : 0;
    const a: AnnounceChange = {
      kind: 'announce',
      infoHash: hash(t, 0xaa),
      peerId: hash(p, 0xbb),
      ip: v6
        ? Buffer.from(
            `2001:0db8:0000:0000:0000:0000:${(p >> 8).toString(16).padStart(4, '0')}:${(p & 0xff).toString(16).padStart(4, '0')}`.replace(
              /:/g,
              '',
            ),
            'hex',
          )
        : Buffer.from([10, 0, p >> 8, p & 0xff]),
      port: 1 + Math.floor(r() * 65535),
      uploaded: r() < 0.05 ? (1n << 64n) - 1n : BigInt(Math.floor(r() * 1e12)),
      downloaded: BigInt(Math.floor(r() * 1e12)),
      left,
      event,
      at: 1_700_000_000_000 + i,
    };
    out.push(a);
  }
  return out;
}

function storeOf(changes: readonly Change[]): SwarmStore {
  const st = createStore();
  for (const c of changes) applyChange(st, c);
  return st;
}

/** Per swarm: seeders, leechers, completed, name, size, and the set of peers. */
function summary(st: SwarmStore): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of st.swarms.values()) {
    out[s.infoHash.toString('hex')] = {
      seeders: s.seeders,
      leechers: leechers(s),
      completed: s.completed,
      name: s.name,
      size: s.size,
      peers: peersOf(st, s)
        .map((p) => `${p.peerId.toString('hex')} ${p.ip.toString('hex')} ${p.port} ${p.uploaded} ${p.downloaded} ${p.left} ${p.lastSeen}`)
        .sort(),
    };
  }
  return out;
}

function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const r = rng(seed);
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Messages as they arrive from the broker: serialised to JSON and parsed back. */
const overTheWire = (ms: readonly Snapshot[]): Snapshot[] => JSON.parse(JSON.stringify(ms)) as Snapshot[];

const KEY = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
const N = 4500;

const count = (m: Snapshot): number => decodeChanges(m.changes)!.length;

test('4500 changes are cut into chunks of at most SNAPSHOT_CHUNK, all carrying the same transfer header', () => {
  const changes = history(N);
  const ms = snapshotMessages(7, 3, 9, 1234, KEY, changes);
  assert.is(ms.length, Math.ceil(N / SNAPSHOT_CHUNK));
  assert.ok(ms.length >= 2, 'the test must need several chunks');
  assert.is(
    ms.reduce((n, m) => n + count(m), 0),
    N,
  );
  ms.forEach((m, i) => {
    assert.ok(count(m) <= SNAPSHOT_CHUNK && count(m) > 0, `chunk ${i} has ${count(m)}`);
    assert.equal(
      { type: m.type, from: m.from, epoch: m.epoch, to: m.to, seq: m.seq, part: m.part, parts: m.parts, key: m.key },
      { type: 'snapshot', from: 7, epoch: 3, to: 9, seq: 1234, part: i, parts: ms.length, key: KEY.toString('hex') },
    );
  });
  // Each message fits a broker frame comfortably (well under 1 MiB of JSON).
  for (const m of ms) assert.ok(JSON.stringify(m).length < 1024 * 1024);
});

test('chunk boundaries: empty, exactly one chunk, one over', () => {
  assert.equal(
    snapshotMessages(1, 1, 2, 0, KEY, []).map((m) => [m.part, m.parts, count(m)]),
    [[0, 1, 0]],
  );
  const one = history(SNAPSHOT_CHUNK);
  assert.equal(
    snapshotMessages(1, 1, 2, 5, KEY, one).map((m) => [m.part, m.parts, count(m)]),
    [[0, 1, SNAPSHOT_CHUNK]],
  );
  const over = history(SNAPSHOT_CHUNK + 1);
  assert.equal(
    snapshotMessages(1, 1, 2, 5, KEY, over).map((m) => [m.part, m.parts, count(m)]),
    [
      [0, 2, SNAPSHOT_CHUNK],
      [1, 2, 1],
    ],
  );
});

test('with a secret no chunk carries a key: none in any frame, and the transfer assembles with key null', () => {
  const changes = history(N);
  const ms = snapshotMessages(7, 3, 9, 1234, null, changes);
  for (const m of ms) {
    assert.not.ok('key' in m, `chunk ${m.part} has no key field`);
    assert.not.ok(JSON.stringify(m).includes(KEY.toString('hex')));
  }
  const asm = createAssembler();
  let done: ReturnType<typeof asm.add> = 'partial';
  for (const m of overTheWire(ms)) done = asm.add(m);
  assert.is((done as Assembled).key, null);
  assert.is((done as Assembled).seq, 1234);
  assert.equal((done as Assembled).changes, changes);
});

test('an empty repository transfers as one empty chunk and assembles to nothing', () => {
  const asm = createAssembler();
  const [m] = overTheWire(snapshotMessages(1, 1, 2, 0, KEY, []));
  const done = asm.add(m!) as Assembled;
  assert.equal(done, { seq: 0, key: KEY, changes: [] });
});

test('chunks reassembled in any order give back the same changes, key and seq', () => {
  const changes = history(N);
  const ms = overTheWire(snapshotMessages(7, 3, 9, 1234, KEY, changes));
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const asm = createAssembler();
    const order = shuffled(ms, seed);
    const results = order.map((m) => asm.add(m));
    assert.equal(
      results.slice(0, -1),
      order.slice(0, -1).map(() => 'partial'),
      `seed ${seed}`,
    );
    const done = results.at(-1) as Assembled;
    assert.type(done, 'object');
    assert.is(done.seq, 1234);
    assert.ok(Buffer.isBuffer(done.key) && done.key.equals(KEY));
    assert.is(done.changes.length, N);
    assert.equal(done.changes, changes);
  }
});

test('a repeated chunk does not count twice', () => {
  const ms = overTheWire(snapshotMessages(7, 3, 9, 5, KEY, history(N)));
  const asm = createAssembler();
  assert.is(asm.add(ms[0]!), 'partial');
  assert.is(asm.add(ms[0]!), 'partial');
  assert.is(asm.add(ms[1]!), 'partial');
  assert.is(asm.add(ms[1]!), 'partial');
  assert.type(asm.add(ms[2]!), 'object');
});

test('the reassembled changes rebuild the same swarms (seeders, leechers, completed) in a fresh store', () => {
  const changes = history(N, 42);
  const source = storeOf(changes);
  const asm = createAssembler();
  let done: ReturnType<typeof asm.add> = 'partial';
  for (const m of shuffled(overTheWire(snapshotMessages(1, 2, 3, 99, KEY, changes)), 7)) done = asm.add(m);
  assert.type(done, 'object');
  const target = storeOf((done as Assembled).changes);
  const want = summary(source);
  assert.ok(Object.keys(want).length > 10, 'the history spans many swarms');
  assert.ok(Object.values(want).some((s) => (s as { completed: number }).completed > 0));
  assert.ok(Object.values(want).some((s) => (s as { seeders: number }).seeders > 0 && (s as { leechers: number }).leechers > 0));
  assert.equal(summary(target), want);
});

/** A mirror stand-in: the repository needs only writeBatch and clear. */
const fakeMirror = (): Mirror => ({ writeBatch: () => ({ ok: true }), clear: () => undefined });

test('end to end: a master repository snapshot, chunked and shuffled, installs into an identical replica', () => {
  const deps = { mirror: fakeMirror(), log: () => undefined };
  const master = createRepository(deps);
  master.apply(
    17,
    history(N, 9).map((change) => ({ change, client: null })),
  );
  const snap = master.snapshot();
  assert.ok(snap.length > SNAPSHOT_CHUNK, `snapshot of ${snap.length} changes spans several chunks`);
  const asm = createAssembler();
  let done: ReturnType<typeof asm.add> = 'partial';
  for (const m of shuffled(overTheWire(snapshotMessages(1, 2, 3, master.lastSeq(), KEY, snap)), 3)) done = asm.add(m);
  const got = done as Assembled;
  assert.is(got.seq, 17);
  const replica = createRepository({ ...deps, mirror: fakeMirror() });
  assert.equal(replica.install(got.seq, got.changes), { ok: true });
  assert.is(replica.lastSeq(), 17);
  assert.is(replica.digest(), master.digest());
  assert.equal(summary(replica.store), summary(master.store));
});

const validChunks = (): Snapshot[] => overTheWire(snapshotMessages(7, 3, 9, 5, KEY, history(N)));

test('a chunk with a bad key is refused', () => {
  for (const key of [
    '',
    'abc',
    KEY.toString('hex').slice(2),
    KEY.toString('hex').toUpperCase(),
    `${KEY.toString('hex')}00`,
    'g'.repeat(64),
  ]) {
    const m = { ...validChunks()[0]!, key };
    assert.is(createAssembler().add(m), 'bad', `key ${JSON.stringify(key)}`);
  }
});

test('a chunk with a malformed change is refused', () => {
  const good = Buffer.from(validChunks()[1]!.changes, 'base64');
  const bad: string[] = [
    'not base64!',
    good.subarray(0, good.length - 1).toString('base64'), // the last record cut short
    Buffer.concat([good, Buffer.from([9])]).toString('base64'), // an unknown record kind at the end
    Buffer.concat([Buffer.from([1]), good]).toString('base64'), // misaligned records
  ];
  for (const changes of bad) {
    assert.is(createAssembler().add({ ...validChunks()[1]!, changes }), 'bad', changes.slice(0, 40));
  }
});

test('a part number at or beyond the part count, or a zero part count, is refused', () => {
  const m = validChunks()[0]!;
  assert.is(createAssembler().add({ ...m, part: m.parts }), 'bad');
  assert.is(createAssembler().add({ ...m, part: m.parts + 5 }), 'bad');
  assert.is(createAssembler().add({ ...m, part: 0, parts: 0 }), 'bad');
});

test('a bad chunk does not disturb the transfer in progress', () => {
  const ms = validChunks();
  const asm = createAssembler();
  assert.is(asm.add(ms[0]!), 'partial');
  assert.is(asm.add({ ...ms[1]!, key: 'nope' }), 'bad');
  assert.is(asm.add({ ...ms[1]!, part: 3 }), 'bad');
  assert.is(asm.add(ms[1]!), 'partial');
  const done = asm.add(ms[2]!) as Assembled;
  assert.is(done.changes.length, N);
});

test('a newer transfer replaces an unfinished one; nothing of the old one leaks into it', () => {
  const oldChanges = history(N, 100);
  const newChanges = history(N + 300, 200);
  const old = overTheWire(snapshotMessages(7, 3, 9, 5, KEY, oldChanges));
  const key2 = Buffer.alloc(32, 0xcd);
  const fresh = overTheWire(snapshotMessages(7, 3, 9, 8, key2, newChanges));
  assert.is(old.length, fresh.length, 'same part count: only the seq tells them apart');
  const asm = createAssembler();
  assert.is(asm.add(old[0]!), 'partial');
  assert.is(asm.add(old[2]!), 'partial');
  assert.is(asm.add(fresh[1]!), 'partial');
  assert.is(asm.add(fresh[2]!), 'partial', 'old parts 0 and 2 must not complete the new transfer');
  const done = asm.add(fresh[0]!) as Assembled;
  assert.is(done.seq, 8);
  assert.ok(done.key?.equals(key2));
  assert.equal(done.changes, newChanges);
});

test('a transfer from another master (same seq) replaces an unfinished one', () => {
  const a = overTheWire(snapshotMessages(7, 3, 9, 5, KEY, history(N, 1)));
  const bChanges = history(N, 2);
  const b = overTheWire(snapshotMessages(8, 4, 9, 5, KEY, bChanges));
  const asm = createAssembler();
  assert.is(asm.add(a[0]!), 'partial');
  assert.is(asm.add(a[1]!), 'partial');
  assert.is(asm.add(b[2]!), 'partial');
  assert.is(asm.add(b[1]!), 'partial');
  const done = asm.add(b[0]!) as Assembled;
  assert.equal(done.changes, bChanges);
});

test('after a completed transfer, and after reset, the assembler starts from nothing', () => {
  const ms = validChunks();
  const asm = createAssembler();
  for (const m of ms.slice(0, -1)) asm.add(m);
  assert.type(asm.add(ms.at(-1)!), 'object');
  assert.is(asm.add(ms.at(-1)!), 'partial', 'the last part again is the start of a new transfer');
  asm.reset();
  assert.is(asm.add(ms[0]!), 'partial');
  assert.is(asm.add(ms[1]!), 'partial');
  asm.reset();
  assert.is(asm.add(ms[2]!), 'partial', 'parts added before the reset are forgotten');
});

test.run();
