/** The SQLite mirror's worker thread with a real SQLite file: order, the ring's overflow, big batches, errors. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openWorkerStore } from '../../../streams/sqlite/worker-store.js';
import type { RowEffect } from '../../../src/domain/types.js';
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
