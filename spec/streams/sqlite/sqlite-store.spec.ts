/** The SQLite mirror on a real file: batches written together are all or none, and the file keeps a prefix. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openSqliteStore, type DirectSqliteStore } from '../../../streams/sqlite/sqlite-store.js';
import type { RowEffect } from '../../../src/domain/types.js';
import { tempDir } from '../../helpers/temp.js';

const peer = (n: number): RowEffect => ({
  kind: 'peer-upsert',
  infoHash: Buffer.alloc(20, 1),
  peer: {
    peerId: Buffer.alloc(20, n),
    ip: Buffer.from([127, 0, 0, 1]),
    port: 6881,
    uploaded: 0n,
    downloaded: 0n,
    left: BigInt(n),
    lastSeen: 1000,
  },
});
const torrent = (n: number): RowEffect => ({
  kind: 'torrent-upsert',
  swarm: { infoHash: Buffer.alloc(20, n), name: `t${n}`, size: 10n, completed: n } as never,
});

function open(): { store: DirectSqliteStore; remove: () => void } {
  const dir = tempDir('sqlite-store');
  const opened = openSqliteStore(join(dir.path, 's.sqlite'));
  if (!opened.ok) throw new Error(opened.error);
  return { store: opened.store, remove: () => dir.remove() };
}

test('consecutive batches written together: every row, and the last sequence number', async () => {
  const { store, remove } = open();
  assert.ok(
    store.writeBatches([
      { seq: 1, effects: [peer(1), torrent(1)] },
      { seq: 2, effects: [peer(2)] },
      { seq: 3, effects: [peer(1)] },
    ]).ok,
  );
  assert.equal(await store.counts(), { torrents: 1, peers: 2, lastSeq: 3 });
  store.close();
  remove();
});

test('a run of batches is all or none: a failure in the last one leaves the file at the batch before the run', async () => {
  const { store, remove } = open();
  assert.ok(store.writeBatch(1, [peer(1)]).ok);
  // Someone drops the torrents table under us: batch 3 of the run cannot be stored, so batch 2 is not either.
  const other = new Database(store.path);
  other.exec('DROP TABLE torrents');
  other.close();
  const r = store.writeBatches([
    { seq: 2, effects: [peer(2)] },
    { seq: 3, effects: [torrent(3)] },
  ]);
  assert.not.ok(r.ok);
  if (!r.ok) assert.match(r.error, /torrents/);
  const d = new Database(store.path, { readonly: true });
  const peers = (d.prepare('SELECT count(*) n FROM peers').get() as { n: number }).n;
  const last = (d.prepare("SELECT value FROM meta WHERE key = 'last_seq'").get() as { value: number }).value;
  d.close();
  assert.is(peers, 1, 'batch 2 rolled back with batch 3');
  assert.is(last, 1);
  store.close();
  remove();
});

test.run();
