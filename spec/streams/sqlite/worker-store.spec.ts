/** The SQLite mirror's worker thread with a real SQLite file: order, the ring's overflow, big batches, errors. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openWorkerStore } from '../../../streams/sqlite/worker-store.js';
import { snapshotCursor } from '../../../src/domain/snapshot-codec.js';
import { applyChange, createStore } from '../../../src/domain/swarm.js';
import type { Change, RowEffect } from '../../../src/domain/types.js';
import { tempDir } from '../../helpers/temp.js';

const hash = (n: number): Buffer => Buffer.alloc(20, n & 0xff);
const peer = (n: number, left: bigint): RowEffect => ({
  kind: 'peer-upsert',
  infoHash: hash(n % 7),
  peer: {
    peerId: Buffer.from(n.toString(16).padStart(40, '0'), 'hex'),
    ip: Buffer.from([127, 0, 0, 1]),
    port: 1000 + (n % 50000),
    uploaded: 0n,
    downloaded: 0n,
    left,
    lastSeen: 1000,
  },
});
const rows = (path: string): Array<{ p: string; left: number }> => {
  const d = new Database(path, { readonly: true });
  try {
    return d.prepare('SELECT hex(peer_id) p, left FROM peers ORDER BY p').all() as Array<{ p: string; left: number }>;
  } finally {
    d.close();
  }
};

test('thousands of batches (overflowing the ring) and a batch too big for it are stored in commit order', async () => {
  const dir = tempDir('worker-store');
  const written: number[] = [];
  const errors: string[] = [];
  const opened = await openWorkerStore(
    join(dir.path, 's.sqlite'),
    (e) => errors.push(e),
    (s) => written.push(s),
  );
  assert.ok(opened.ok);
  if (!opened.ok) return;
  const store = opened.store;
  // The same peers rewritten batch after batch: only the last value of each survives if order holds.
  let seq = 0;
  for (let round = 0; round < 40; round++) {
    for (let b = 0; b < 50; b++)
      store.writeBatch(
        ++seq,
        Array.from({ length: 40 }, (_, i) => peer(b * 40 + i, BigInt(round))),
      );
  }
  // A single batch far bigger than the 2 MiB ring (a state transfer): it travels as a message, in turn.
  const big = Array.from({ length: 150_000 }, (_, i) => peer(i, 77n));
  store.writeBatch(++seq, big);
  store.writeBatch(++seq, [peer(5, 99n)]);
  await store.flush();
  const counts = await store.counts();
  assert.is(counts.lastSeq, seq);
  assert.is(counts.peers, 150_000);
  const all = rows(store.path);
  assert.is(all.find((r) => r.p === (5).toString(16).padStart(40, '0').toUpperCase())!.left, 99);
  assert.ok(all.filter((r) => r.left !== 77).length === 1, 'every other peer holds the big batch value');
  // Batches that queue up together share a transaction (each page written once for all of them).
  assert.ok(written.length >= 2 && written.length < seq / 10, `${written.length} transactions for ${seq} batches`);
  assert.equal(errors, []);
  store.clear();
  assert.is((await store.counts()).peers, 0);
  await store.close();
  dir.remove();
});

test('a failed write is reported through onError, and flush still resolves', async () => {
  const dir = tempDir('worker-store');
  const errors: string[] = [];
  const opened = await openWorkerStore(join(dir.path, 's.sqlite'), (e) => errors.push(e));
  assert.ok(opened.ok);
  if (!opened.ok) return;
  const store = opened.store;
  store.writeBatch(1, [peer(1, 0n)]);
  await store.flush();
  assert.equal(errors, []);
  // Someone drops a table under the worker: the next transaction fails, and says so.
  const other = new Database(store.path);
  other.exec('DROP TABLE peers');
  other.close();
  store.writeBatch(2, [peer(2, 0n)]);
  await store.flush();
  await store.close();
  dir.remove();
  assert.is(errors.length, 1);
  assert.match(errors[0]!, /peers/);
});

test('state transfer parts are written straight from their bytes: every peer and swarm, a swarm sent twice replaced', async () => {
  const store = createStore();
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
  for (const c of changes) applyChange(store, c);
  const cursor = snapshotCursor(store, () => 42);
  const parts: Buffer[] = [];
  for (let done = false; !done; ) {
    const c = cursor.next(5000); // swarms of 1000 peers span several parts
    parts.push(c.data);
    done = c.done;
  }
  const dir = tempDir('worker-store');
  const errors: string[] = [];
  const opened = await openWorkerStore(join(dir.path, 's.sqlite'), (e) => errors.push(e));
  assert.ok(opened.ok);
  if (!opened.ok) return;
  for (const p of parts) opened.store.writeSnapshot(42, p);
  await opened.store.flush();
  assert.equal(await opened.store.counts(), { torrents: 3, peers: 3000, lastSeq: 42 });
  // Swarm 1 copied again (a walk that met it re-created), now with 10 peers: its earlier rows are replaced.
  const again = createStore();
  applyChange(again, changes[0]!);
  for (const c of changes.filter((c) => c.kind === 'announce' && c.infoHash.equals(hash(1))).slice(0, 10)) applyChange(again, c);
  opened.store.writeSnapshot(43, snapshotCursor(again, () => 43).next(1 << 20).data);
  await opened.store.flush();
  const counts = await opened.store.counts();
  assert.equal(counts, { torrents: 3, peers: 2010, lastSeq: 43 });
  const d = new Database(opened.store.path, { readonly: true });
  const t = d.prepare('SELECT name, size, completed FROM torrents WHERE info_hash = ?').get(hash(1));
  const p7 = d
    .prepare('SELECT ip, port, uploaded, downloaded, left, last_seen FROM peers WHERE peer_id = ?')
    .get(changes[8]!.kind === 'announce' ? changes[8]!.peerId : null);
  const p10 = d.prepare('SELECT ip FROM peers WHERE peer_id = ?').get(Buffer.from((10).toString(16).padStart(40, '0'), 'hex'));
  d.close();
  assert.equal(t, { name: 'named ✓', size: 12345, completed: 3 });
  assert.equal(p7, { ip: '10.0.0.7', port: 8, uploaded: 7, downloaded: 2 ** 63 - 1, left: 21, last_seen: 1_700_000_007_000 });
  assert.equal(p10, { ip: 'a0a:a0a:a0a:a0a:a0a:a0a:a0a:a0a' });
  assert.equal(errors, []);
  assert.ok(parts.length > 20, `${parts.length} parts`);
  await opened.store.close();
  dir.remove();
});

test('a file that cannot be opened is an error value', async () => {
  const dir = tempDir('worker-store');
  writeFileSync(join(dir.path, 'plain'), 'x');
  const r = await openWorkerStore(join(dir.path, 'plain', 'x.sqlite'), () => {});
  dir.remove();
  assert.not.ok(r.ok);
  if (!r.ok) assert.match(r.error, /cannot open SQLite database/);
  // Node's own recursive mkdir never returns for this one; ours refuses it.
  const proc = await openWorkerStore('/proc/no/such/dir/x.sqlite', () => {});
  assert.not.ok(proc.ok);
});

test.run();
