/**
 * State transfer: the snapshot codec (a walk of the live store, swarm by swarm, installed as it comes), the cut
 * that makes a walk taken while rounds go on come out as the Master's state, the requester's side (parts in
 * order, duplicates, draining the rounds held meanwhile) and the round log that serves a catch-up.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRepository, type Mirror } from '../../actors/repository.js';
import type { ClusterMessage } from '../../src/bus/messages.js';
import { encodeChanges, packChanges } from '../../src/bus/wire.js';
import { type ChunkReader, readChunk, snapshotCursor } from '../../src/domain/snapshot-codec.js';
import { applyChange, createStore, leechers, peersOf } from '../../src/domain/swarm.js';
import type { AnnounceChange, Change, SwarmStore, TorrentChange } from '../../src/domain/types.js';
import type { EventCode } from '../../src/protocol/constants.js';
import type { RoundMessage } from '../../src/node/cluster-inbox.js';
import { createRoundLog, packRounds, unpackRounds } from '../../src/node/round-log.js';
import { createStateSync } from '../../src/node/state-sync.js';
import { partKey } from '../../src/node/transfers.js';
import { createPending, type Pending } from '../../streams/sqlite/write-behind.js';

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

/**
 * A mirror that folds the row effects as the SQLite worker does (write-behind.ts): what it holds must be the
 * store, row for row, on a Master applying rounds and on a joiner installing parts and then rounds.
 */
const okMirror = (): Mirror & { cleared: number; rows: () => Record<string, unknown> } => {
  const pending = createPending();
  const m = {
    cleared: 0,
    writeBatch: (seq: number, effects: Buffer) => {
      pending.add(seq, Buffer.from(effects));
      return { ok: true as const };
    },
    clear: () => {
      pending.clear();
      m.cleared++;
    },
    rows: () => mirrorSummary(pending),
  };
  return m;
};

/** The folded rows in the shape of `summary` (no seeder counts: the file holds `left`, not a count). */
function mirrorSummary(p: Pending): Record<string, unknown> {
  const out: Record<string, { completed: number; name: string | null; size: bigint | null; peers: string[] }> = {};
  const byId = new Map<number, string>();
  for (const [id, t] of p.torrents) {
    if (t === null) continue;
    const key = t.infoHash.toString('hex');
    byId.set(id, key);
    out[key] = { completed: t.completed, name: t.name, size: t.size, peers: [] };
  }
  for (const r of p.peers.values()) {
    if (r === null) continue;
    const key = byId.get(r.readUInt32LE(0)) ?? `missing torrent ${r.readUInt32LE(0)}`;
    out[key] ??= { completed: -1, name: null, size: null, peers: [] };
    const at = 4;
    const id = r.subarray(at, at + 20).toString('hex');
    const ip = r.subarray(at + 50).toString('hex');
    const u64 = (o: number) => r.readBigUInt64LE(at + o);
    out[key].peers.push(`${id} ${ip} ${r.readUInt16LE(at + 20)} ${u64(26)} ${u64(34)} ${u64(42)} ${r.readUInt32LE(at + 22) * 1000}`);
  }
  for (const v of Object.values(out)) v.peers.sort();
  return out;
}

/** `summary` without the seeder and leecher counts, as the mirror holds it. */
function rowSummary(st: SwarmStore): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(summary(st) as Record<string, Record<string, unknown>>)) {
    const { seeders: _s, leechers: _l, ...rest } = v;
    out[k] = rest;
  }
  return out;
}

/** Every part of a walk of `store`, `maxBytes` each at most (but for one record or one swarm header). */
function walk(store: SwarmStore, maxBytes: number, cut = () => 7): Buffer[] {
  const cursor = snapshotCursor(store, cut);
  const parts: Buffer[] = [];
  for (;;) {
    const c = cursor.next(maxBytes);
    parts.push(c.data);
    if (c.done) return parts;
  }
}

test('a walk cut into small parts (large swarms split across them) installs as the same store', () => {
  const source = storeOf(history(4500));
  for (const maxBytes of [200, 4096, 1 << 20]) {
    const parts = walk(source, maxBytes);
    if (maxBytes === 200) assert.ok(parts.length > 40, `${parts.length} parts`);
    const target = createStore();
    const reader: ChunkReader = { current: null };
    const cuts = new Map<string, number>();
    let records = 0;
    for (const p of parts) {
      const r = readChunk(target, reader, p, (k, c) => cuts.set(k, c));
      assert.ok(r.ok, JSON.stringify(r));
      if (r.ok) records += r.records;
    }
    assert.equal(summary(target), summary(source), `parts of ${maxBytes} bytes`);
    assert.is(
      records,
      [...source.swarms.values()].reduce((n, s) => n + peersOf(source, s).length, 0),
    );
    assert.is(cuts.size, source.swarms.size);
    assert.ok([...cuts.values()].every((c) => c === 7));
  }
});

test('a truncated or garbled part is refused with an error, never thrown', () => {
  const parts = walk(storeOf(history(300)), 1 << 20);
  const whole = parts[0]!;
  for (const bad of [whole.subarray(0, 10), whole.subarray(0, whole.length - 3), Buffer.from([9, 1, 2]), Buffer.from([2, 4, 1, 0, 0, 0])]) {
    const r = readChunk(createStore(), { current: null }, bad, () => {});
    assert.is(r.ok, false);
  }
});

/** Rounds of random changes on top of a store (completed then stopped, expiry, .torrent metadata included). */
function randomRound(r: () => number, at: number): Change[] {
  const out: Change[] = [];
  const n = 1 + Math.floor(r() * 12);
  for (let i = 0; i < n; i++) {
    const x = r();
    if (x < 0.05) {
      out.push({ kind: 'expire', before: 1_700_000_000_000 + at - 2000 });
      continue;
    }
    if (x < 0.1) {
      out.push({ kind: 'torrent', infoHash: hash(Math.floor(r() * 50), 0xaa), name: `t${at}`, size: BigInt(at) });
      continue;
    }
    const p = Math.floor(r() * 400);
    const e = r();
    const event: EventCode = e < 0.2 ? 3 : e < 0.45 ? 1 : e < 0.6 ? 2 : 0;
    const a: AnnounceChange = {
      kind: 'announce',
      infoHash: hash(Math.floor(r() * 50), 0xaa),
      peerId: hash(p, 0xbb),
      ip: Buffer.from([10, 1, p >> 8, p & 0xff]),
      port: 1 + (p % 60000),
      uploaded: BigInt(at),
      downloaded: BigInt(at * 2),
      left: event === 1 || r() < 0.3 ? 0n : BigInt(1000 + p),
      event,
      at: 1_700_000_000_000 + at * 1000,
    };
    out.push(a);
  }
  return out;
}

test('a walk taken while rounds are committed, plus the rounds after its start, gives the Master state (every seed)', () => {
  for (let seed = 1; seed <= 12; seed++) {
    const r = rng(seed);
    const masterRows = okMirror();
    const master = createRepository({ mirror: masterRows, log: () => {} });
    let seq = 0;
    const items = (cs: Change[]) => cs.map((change) => ({ change, client: null }));
    for (const c of history(2000, seed)) master.apply(++seq, items([c]));
    const rounds: Array<{ seq: number; changes: Change[] }> = [];
    const commit = (): void => {
      const changes = randomRound(r, seq);
      master.apply(++seq, items(changes));
      rounds.push({ seq, changes });
    };
    // The walk begins at S0; rounds go on between its parts (and sometimes several at once).
    const s0 = master.lastSeq();
    const cursor = master.cursor();
    const joinerRows = okMirror();
    const joiner = createRepository({ mirror: joinerRows, log: () => {} });
    joiner.beginInstall();
    for (let done = false; !done; ) {
      const c = cursor.next(300 + Math.floor(r() * 3000));
      const installed = joiner.installChunk(s0, c.data);
      assert.ok(installed.ok);
      done = c.done;
      for (let k = Math.floor(r() * 3); k > 0; k--) commit();
    }
    joiner.finishInstall(s0);
    for (const round of rounds) if (round.seq > s0) joiner.apply(round.seq, items(round.changes));
    assert.is(joiner.lastSeq(), master.lastSeq(), `seed ${seed}`);
    assert.is(joiner.digest(), master.digest(), `seed ${seed}`);
    // Both mirrors hold exactly their store: every moved record, removal, swarm replaced or dropped logged.
    assert.equal(masterRows.rows(), rowSummary(master.store), `master rows, seed ${seed}`);
    assert.equal(joinerRows.rows(), rowSummary(joiner.store), `joiner rows, seed ${seed}`);
  }
});

const TRANSFER = '0123456789abcdef';
type Part = Extract<ClusterMessage, { type: 'transfer' }>;
const partsOf = (chunks: readonly Buffer[], seq: number, kind: 'snapshot' | 'log' = 'snapshot'): Part[] =>
  chunks.map((c, part) => ({
    type: 'transfer',
    from: 1,
    epoch: 2,
    to: 3,
    transfer: TRANSFER,
    kind,
    seq,
    total: 0,
    part,
    last: part === chunks.length - 1,
    data: c.toString('base64'),
  }));

const prepare = (seq: number, changes: Change[], from = 1, epoch = 2): RoundMessage => ({
  type: 'prepare',
  from,
  epoch,
  seq,
  changes: encodeChanges(changes),
});
const commitOf = (seq: number, from = 1, epoch = 2): RoundMessage => ({ type: 'commit', from, epoch, seq });

test('the requester installs parts in order, acknowledges duplicates and gaps with the part it wants, and ignores other transfers', () => {
  const source = storeOf(history(1500));
  const repo = createRepository({ mirror: okMirror(), log: () => {} });
  const sync = createStateSync(repo, createRoundLog());
  const parts = partsOf(walk(source, 2000), 40);
  assert.ok(parts.length >= 4);
  assert.equal(sync.part(parts[0]!), { type: 'not-mine' }, 'before any request');
  sync.begin(TRANSFER);
  assert.equal(sync.part({ ...parts[0]!, transfer: 'ffffffffffffffff' }), { type: 'not-mine' });
  assert.equal(sync.part(parts[1]!), { type: 'ack', next: 0, duplicate: true }, 'a gap');
  assert.equal(sync.part(parts[0]!), { type: 'ack', next: 1, duplicate: false });
  assert.equal(sync.part(parts[0]!), { type: 'ack', next: 1, duplicate: true }, 'a duplicate');
  for (let i = 1; i < parts.length - 1; i++) assert.equal(sync.part(parts[i]!), { type: 'ack', next: i + 1, duplicate: false });
  assert.is(sync.progress()?.parts, parts.length - 1);
  const last = sync.part(parts[parts.length - 1]!);
  assert.is(last.type, 'installed');
  if (last.type === 'installed') assert.is(last.installed.seq, 40);
  assert.equal(summary(repo.store), summary(source));
  assert.is(sync.progress(), null);
});

test('a part that does not decode fails the transfer (the requester asks again)', () => {
  const repo = createRepository({ mirror: okMirror(), log: () => {} });
  const sync = createStateSync(repo, createRoundLog());
  sync.begin(TRANSFER);
  const r = sync.part({ ...partsOf([Buffer.from([2, 4, 1, 0, 0, 0])], 1)[0]! });
  assert.is(r.type, 'failed');
  assert.equal(sync.part(partsOf(walk(storeOf(history(50)), 1 << 20), 1)[0]!), { type: 'not-mine' });
});

test('rounds held during the transfer are drained a slice at a time; an uncommitted PREPARE is left for consensus', () => {
  const repo = createRepository({ mirror: okMirror(), log: () => {} });
  const log = createRoundLog();
  const sync = createStateSync(repo, log);
  const master = createRepository({ mirror: okMirror(), log: () => {} });
  const changes = (i: number): Change[] => history(3, i).filter((c) => c.kind === 'announce');
  for (let s = 1; s <= 5; s++)
    master.apply(
      s,
      changes(s).map((change) => ({ change, client: null })),
    );
  // Rounds 4..9 go by while the transfer (cut at 5) runs, 8 aborted once and prepared again; 3 and 4 are seen
  // just before the request (remembered: they may be after the cut).
  assert.is(sync.hold(prepare(3, changes(3))), false);
  assert.is(sync.hold(commitOf(3)), false);
  assert.is(sync.hold(prepare(4, changes(4))), false);
  sync.begin(TRANSFER);
  const held: RoundMessage[] = [commitOf(4), prepare(5, changes(5)), commitOf(5), prepare(6, changes(6)), commitOf(6)];
  held.push(prepare(7, changes(7)), commitOf(7), prepare(8, changes(8)), { type: 'abort', from: 1, epoch: 2, seq: 8 });
  held.push(prepare(8, changes(80)), commitOf(8), prepare(9, changes(9)));
  for (const m of held) assert.ok(sync.hold(m));
  const last = sync.part(
    partsOf(
      walk(master.store, 1 << 20, () => 5),
      5,
    )[0]!,
  );
  assert.is(last.type, 'installed');
  const first = sync.drain(2, TRANSFER);
  assert.equal(first, { rounds: 2, done: false });
  assert.is(repo.lastSeq(), 7);
  const rest = sync.drain(100, TRANSFER);
  assert.equal(rest, { rounds: 1, done: true, tail: [prepare(9, changes(9))] });
  assert.is(repo.lastSeq(), 8);
  for (const [s, c] of [
    [6, 6],
    [7, 7],
    [8, 80],
  ] as const)
    master.apply(
      s,
      changes(c).map((change) => ({ change, client: null })),
    );
  assert.is(repo.digest(), master.digest(), 'the aborted PREPARE of 8 was not applied, its second one was');
  assert.equal(
    log.since(7, 2)?.map((r) => r.seq),
    [8],
  );
  assert.is(sync.hold(prepare(10, [])), false, 'no longer holding');
});

test('a drain left behind by a newer transfer is stale: only the newer one drains the rounds held', () => {
  const repo = createRepository({ mirror: okMirror(), log: () => {} });
  const sync = createStateSync(repo, createRoundLog());
  const changes = (i: number): Change[] => history(3, i).filter((c) => c.kind === 'announce');
  sync.begin(TRANSFER);
  for (let s = 2; s <= 4; s++) sync.hold(prepare(s, changes(s)));
  for (let s = 2; s <= 4; s++) sync.hold(commitOf(s));
  sync.part(partsOf([Buffer.alloc(0)], 1)[0]!);
  assert.equal(sync.drain(1, TRANSFER), { rounds: 1, done: false });
  // A new request (say, to a new Master) while draining: the rounds held so far are kept for it.
  const NEWER = 'fedcba9876543210';
  sync.begin(NEWER);
  assert.is(sync.drain(100, TRANSFER), 'stale');
  assert.is(sync.hold(prepare(5, changes(5))), true, 'still holding for the newer transfer');
  sync.hold(commitOf(5));
  sync.part({ ...partsOf([packRounds([])], 2, 'log')[0]!, transfer: NEWER });
  const d = sync.drain(100, NEWER);
  assert.equal(d, { rounds: 3, done: true, tail: [] });
  assert.is(repo.lastSeq(), 5);
});

test('a held COMMIT without its PREPARE stops the drain: the rest goes to consensus, which finds the gap', () => {
  const repo = createRepository({ mirror: okMirror(), log: () => {} });
  const sync = createStateSync(repo, createRoundLog());
  sync.begin(TRANSFER);
  sync.hold(commitOf(2));
  sync.hold(prepare(3, []));
  sync.part(partsOf(walk(createStore(), 1 << 20), 1)[0]!);
  const d = sync.drain(100, TRANSFER);
  assert.equal(d, { rounds: 0, done: true, tail: [commitOf(2), prepare(3, [])] });
});

test('the round log hands out the rounds after a request only when it holds them all and the epochs match', () => {
  const log = createRoundLog({ rounds: 5, bytes: 1000 });
  const b = (n: number): Buffer => Buffer.alloc(n, 1);
  for (let s = 1; s <= 4; s++) log.append(s, s < 3 ? 1 : 2, b(10));
  assert.equal(
    log.since(2, 1)?.map((r) => r.seq),
    [3, 4],
  );
  assert.is(log.since(2, 2), null, 'its round 2 was another epoch: a snapshot instead');
  assert.is(log.since(2, undefined), null);
  assert.equal(log.since(4, 2), []);
  assert.is(log.since(5, 2), null, 'ahead of the log');
  for (let s = 5; s <= 8; s++) log.append(s, 3, b(10));
  assert.equal(log.stats(), { rounds: 5, bytes: 50 });
  assert.is(log.since(2, 1), null, 'evicted');
  assert.equal(
    log.since(3, 2)?.map((r) => r.seq),
    [4, 5, 6, 7, 8],
    'the round before the first kept still matches',
  );
  log.append(9, 3, b(990));
  assert.equal(log.stats(), { rounds: 2, bytes: 1000 }, 'bounded by bytes too');
  log.append(12, 4, b(1));
  assert.is(log.epochAt(11), null, 'a gap starts the log over');
  assert.equal(log.since(11, undefined), null);
  assert.equal(log.since(12, 4), []);
  log.reset(20, 4);
  assert.equal(log.since(20, 4), []);
  assert.equal(log.epochAt(20), 4);
});

test('logged rounds pack into a part and back; anything truncated is refused', () => {
  const rounds = [
    { seq: 7, epoch: 2, changes: packChanges(history(5, 3)) },
    { seq: 8, epoch: 3, changes: Buffer.alloc(0) },
  ];
  const packed = packRounds(rounds);
  assert.equal(
    unpackRounds(packed)?.map((r) => [r.seq, r.epoch, r.changes.toString('hex')]),
    rounds.map((r) => [r.seq, r.epoch, r.changes.toString('hex')]),
  );
  assert.is(unpackRounds(packed.subarray(0, packed.length - 1)), null);
  assert.is(unpackRounds(packed.subarray(0, 5)), null);
});

test("a log part applies the rounds after the requester's last and logs them; one that skips a round fails", () => {
  const repo = createRepository({ mirror: okMirror(), log: () => {} });
  const log = createRoundLog();
  const sync = createStateSync(repo, log);
  const cs = history(6, 9);
  const rounds = [1, 2, 3].map((seq) => ({ seq, epoch: 1, changes: packChanges(cs.slice(seq * 2 - 2, seq * 2)) }));
  sync.begin(TRANSFER);
  const r = sync.part(partsOf([packRounds(rounds)], 0, 'log')[0]!);
  assert.is(r.type, 'installed');
  assert.is(repo.lastSeq(), 3);
  assert.is(
    repo.digest(),
    (() => {
      const m = createRepository({ mirror: okMirror(), log: () => {} });
      m.apply(
        3,
        cs.map((change) => ({ change, client: null })),
      );
      return m.digest();
    })(),
  );
  assert.equal(
    log.since(1, 1)?.map((x) => x.seq),
    [2, 3],
  );
  sync.begin(TRANSFER);
  const gap = sync.part(partsOf([packRounds([{ seq: 5, epoch: 1, changes: Buffer.alloc(0) }])], 3, 'log')[0]!);
  assert.is(gap.type, 'failed');
});

test('only the last part carries the connection-ID key, and only without a secret', () => {
  const key = Buffer.alloc(32, 7);
  assert.is(partKey(true, key, false), key.toString('hex'));
  assert.is(partKey(false, key, false), undefined);
  assert.is(partKey(true, key, true), undefined, 'with a secret every instance derives the keys');
});

test.run();
