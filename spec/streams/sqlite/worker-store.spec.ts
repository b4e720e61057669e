/** The SQLite mirror's worker thread with a real SQLite file: order, the lag, the ring's overflow, big batches, failure and recovery. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRepository } from '../../../actors/repository.js';
import { createEffectLog } from '../../../src/domain/row-effects.js';
import { snapshotCursor } from '../../../src/domain/snapshot-codec.js';
import { applyChange, createStore } from '../../../src/domain/swarm.js';
import type { Change } from '../../../src/domain/types.js';
import { type MirrorEvents, openWorkerStore } from '../../../streams/sqlite/worker-store.js';
import { tempDir } from '../../helpers/temp.js';

const hash = (n: number): Buffer => Buffer.alloc(20, n & 0xff);
const announce = (n: number, left: bigint): Change => ({
  kind: 'announce',
  infoHash: hash(n % 7),
  peerId: Buffer.from(n.toString(16).padStart(40, '0'), 'hex'),
  ip: Buffer.from([127, 0, 0, 1]),
  port: 1000 + (n % 50000),
  uploaded: 0n,
  downloaded: 0n,
  left,
  event: 0,
  at: 1_000_000,
});
const rows = (path: string): Array<{ p: string; left: number }> => {
  const d = new Database(path, { readonly: true });
  try {
    return d.prepare('SELECT hex(peer_id) p, left FROM peers ORDER BY p').all() as Array<{ p: string; left: number }>;
  } finally {
    d.close();
  }
};
const peersIn = (path: string): number => {
  const d = new Database(path, { readonly: true });
  try {
    return d.prepare('SELECT count(*) FROM peer_rows').pluck().get() as number;
  } finally {
    d.close();
  }
};

/** Events of a worker store, kept; `next(kind)` resolves at the next one of that kind. */
function recorder() {
  const seen = { errors: [] as string[], healed: [] as number[], written: [] as number[] };
  const waiters: Array<{ kind: 'error' | 'healed'; resolve: () => void }> = [];
  const wake = (kind: 'error' | 'healed'): void => {
    for (const w of waiters.filter((w) => w.kind === kind)) w.resolve();
  };
  const events: MirrorEvents = {
    error: (e) => {
      seen.errors.push(e);
      wake('error');
    },
    healed: (s) => {
      seen.healed.push(s);
      wake('healed');
    },
    written: (s) => seen.written.push(s),
  };
  const next = (kind: 'error' | 'healed'): Promise<void> => new Promise((resolve) => waiters.push({ kind, resolve }));
  return { seen, events, next };
}

/** A model store whose committed batches are handed to `write` as the repository hands them to the mirror. */
function committer(write: (seq: number, effects: Buffer) => void) {
  const model = createStore();
  const log = createEffectLog();
  let seq = 0;
  return {
    commit(changes: Change[]): number {
      log.reset();
      for (const c of changes) applyChange(model, c, log);
      write(++seq, log.bytes());
      return seq;
    },
  };
}

test('thousands of batches (overflowing the ring) and a batch too big for it are stored in commit order, each row once', async () => {
  const dir = tempDir('worker-store');
  const rec = recorder();
  const opened = await openWorkerStore(join(dir.path, 's.sqlite'), 1000, rec.events);
  assert.ok(opened.ok);
  if (!opened.ok) return;
  const store = opened.store;
  const c = committer((seq, fx) => store.writeBatch(seq, fx));
  // The same peers rewritten batch after batch: only the last value of each survives if order holds.
  for (let round = 0; round < 40; round++) {
    for (let b = 0; b < 50; b++) c.commit(Array.from({ length: 40 }, (_, i) => announce(b * 40 + i, BigInt(round))));
  }
  // A single batch far bigger than the 2 MiB ring (a state transfer): it travels as a message, in turn.
  c.commit(Array.from({ length: 150_000 }, (_, i) => announce(i, 77n)));
  const last = c.commit([announce(5, 99n)]);
  await store.flush();
  const counts = await store.counts();
  assert.is(counts.lastSeq, last);
  assert.is(counts.peers, 150_000);
  const all = rows(store.path);
  assert.is(all.find((r) => r.p === (5).toString(16).padStart(40, '0').toUpperCase())!.left, 99);
  assert.ok(all.filter((r) => r.left !== 77).length === 1, 'every other peer holds the big batch value');
  // Inside one lag window the batches fold into few transactions (each row written once for all of them).
  assert.ok(rec.seen.written.length >= 1 && rec.seen.written.length < 10, `${rec.seen.written.length} transactions for ${last} batches`);
  assert.equal(rec.seen.errors, []);
  store.clear();
  assert.is((await store.counts()).peers, 0);
  await store.close();
  dir.remove();
});

test('the file trails by the lag at most: nothing written inside the window, everything on flush, the lag gauge back to 0', async () => {
  const dir = tempDir('worker-store');
  const rec = recorder();
  const opened = await openWorkerStore(join(dir.path, 's.sqlite'), 60_000, rec.events);
  assert.ok(opened.ok);
  if (!opened.ok) return;
  const store = opened.store;
  const c = committer((seq, fx) => store.writeBatch(seq, fx));
  c.commit([announce(1, 0n), announce(2, 0n)]);
  c.commit([announce(3, 0n)]);
  // A counts request is a write (the worker answers it from the file): ask the file itself instead.
  await new Promise((r) => setTimeout(r, 50));
  assert.is(peersIn(store.path), 0, 'inside the 60 s window');
  assert.ok(store.lagSeconds() > 0);
  await store.flush();
  assert.is(peersIn(store.path), 3);
  assert.is(store.lagSeconds(), 0);
  await store.close();
  dir.remove();
});

test('a failed write is reported once, changes keep folding, and the retry that succeeds brings the file to the last commit', async () => {
  const dir = tempDir('worker-store');
  const rec = recorder();
  const opened = await openWorkerStore(join(dir.path, 's.sqlite'), 0, rec.events);
  assert.ok(opened.ok);
  if (!opened.ok) return;
  const store = opened.store;
  const c = committer((seq, fx) => store.writeBatch(seq, fx));
  c.commit([announce(1, 0n)]);
  await store.flush();
  assert.equal(rec.seen.errors, []);
  // Someone drops the peers' table under the worker: every write fails until it is back.
  const other = new Database(store.path);
  other.exec('DROP TABLE peer_rows');
  const failed = rec.next('error');
  c.commit([announce(2, 0n)]);
  await failed;
  for (let n = 3; n <= 20; n++) c.commit([announce(n, BigInt(n))]);
  await store.flush(); // over, though not stored: a flush never hangs on a failing file
  assert.is(rec.seen.errors.length, 1, 'one failure, retried, is reported once');
  assert.match(rec.seen.errors[0]!, /peer_rows/);
  assert.ok(store.lagSeconds() > 0);
  const healed = rec.next('healed');
  other.exec(
    'CREATE TABLE peer_rows (id INTEGER PRIMARY KEY, torrent INTEGER NOT NULL, peer_id BLOB NOT NULL, ip BLOB NOT NULL, port INTEGER NOT NULL, uploaded INTEGER NOT NULL, downloaded INTEGER NOT NULL, left INTEGER NOT NULL, last_seen INTEGER NOT NULL)',
  );
  other.close();
  await healed;
  await store.flush();
  // Peer 1 went with the dropped table; every change after it is in the file, at the last commit.
  assert.equal(await store.counts(), { torrents: 7, peers: 19, lastSeq: 20 });
  assert.is(rec.seen.healed.length, 1);
  assert.is(store.lagSeconds(), 0);
  await store.close();
  dir.remove();
});

test('state transfer parts installed by a joining repository reach the file: every peer and swarm, a swarm sent twice replaced', async () => {
  const source = createStore();
  const changes: Change[] = [{ kind: 'torrent', infoHash: hash(1), name: 'named ✓', size: 12345n, completed: 3 }];
  for (let i = 0; i < 3000; i++) {
    const v6 = i % 10 === 0;
    changes.push({
      kind: 'announce',
      infoHash: hash(1 + (i % 3)),
      peerId: Buffer.from(i.toString(16).padStart(40, '0'), 'hex'),
      ip: v6 ? Buffer.alloc(16, i & 0xff) : Buffer.from([10, 0, i >> 8, i & 0xff]),
      port: 1 + i,
      uploaded: BigInt(i),
      downloaded: i === 7 ? (1n << 64n) - 1n : 2n ** 40n + BigInt(i),
      left: i % 4 === 0 ? 0n : BigInt(i * 3),
      event: 2,
      at: 1_700_000_000_000 + i * 1000,
    });
  }
  for (const c of changes) applyChange(source, c);
  const cursor = snapshotCursor(source, () => 42);
  const parts: Buffer[] = [];
  for (let done = false; !done; ) {
    const c = cursor.next(5000); // swarms of 1000 peers span several parts
    parts.push(c.data);
    done = c.done;
  }
  const dir = tempDir('worker-store');
  const rec = recorder();
  const opened = await openWorkerStore(join(dir.path, 's.sqlite'), 1000, rec.events);
  assert.ok(opened.ok);
  if (!opened.ok) return;
  const joiner = createRepository({ mirror: opened.store, log: () => {} });
  joiner.beginInstall();
  for (const p of parts) assert.ok(joiner.installChunk(42, p).ok);
  joiner.finishInstall(42);
  await opened.store.flush();
  assert.equal(await opened.store.counts(), { torrents: 3, peers: 3000, lastSeq: 42 });
  // Swarm 1 copied again (a walk that met it re-created), now with 10 peers: its earlier rows are replaced.
  const again = createStore();
  applyChange(again, changes[0]!);
  for (const c of changes.filter((c) => c.kind === 'announce' && c.infoHash.equals(hash(1))).slice(0, 10)) applyChange(again, c);
  assert.ok(joiner.installChunk(43, snapshotCursor(again, () => 43).next(1 << 20).data).ok);
  await opened.store.flush();
  assert.equal(await opened.store.counts(), { torrents: 3, peers: 2010, lastSeq: 43 });
  const d = new Database(opened.store.path, { readonly: true });
  const t = d.prepare('SELECT name, size, completed FROM torrents WHERE info_hash = ?').get(hash(1));
  const p7 = d
    .prepare('SELECT ip, port, uploaded, downloaded, left, last_seen FROM peers WHERE peer_id = ?')
    .get(changes[8]!.kind === 'announce' ? changes[8]!.peerId : null);
  const p10 = d.prepare('SELECT ip FROM peers WHERE peer_id = ?').get(Buffer.from((10).toString(16).padStart(40, '0'), 'hex'));
  d.close();
  assert.equal(t, { name: 'named ✓', size: 12345, completed: 3 });
  assert.equal(p7, {
    ip: Buffer.from([10, 0, 0, 7]),
    port: 8,
    uploaded: 7,
    downloaded: 2 ** 63 - 1,
    left: 21,
    last_seen: 1_700_000_007_000,
  });
  assert.equal(p10, { ip: Buffer.alloc(16, 10) });
  assert.equal(rec.seen.errors, []);
  assert.ok(parts.length > 20, `${parts.length} parts`);
  await opened.store.close();
  dir.remove();
});

test('a file that cannot be opened is an error value', async () => {
  const dir = tempDir('worker-store');
  writeFileSync(join(dir.path, 'plain'), 'x');
  const r = await openWorkerStore(join(dir.path, 'plain', 'x.sqlite'), 0, recorder().events);
  dir.remove();
  assert.not.ok(r.ok);
  if (!r.ok) assert.match(r.error, /cannot open SQLite database/);
  // Node's own recursive mkdir never returns for this one; ours refuses it.
  const proc = await openWorkerStore('/proc/no/such/dir/x.sqlite', 0, recorder().events);
  assert.not.ok(proc.ok);
});

test.run();
