/**
 * The SQLite mirror on a real file: pending changes folded per row are written in one transaction, all or none,
 * and the file keeps a prefix of the commit log.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { createEffectLog } from '../../../src/domain/row-effects.js';
import { applyChange, createStore } from '../../../src/domain/swarm.js';
import type { Change } from '../../../src/domain/types.js';
import { openSqliteStore, type DirectSqliteStore } from '../../../streams/sqlite/sqlite-store.js';
import { createPending } from '../../../streams/sqlite/write-behind.js';
import { tempDir } from '../../helpers/temp.js';

const announce = (n: number, left: bigint, event: 0 | 3 = 0): Change => ({
  kind: 'announce',
  infoHash: Buffer.alloc(20, 1 + (n % 2)),
  peerId: Buffer.alloc(20, n),
  ip: Buffer.from([127, 0, 0, n]),
  port: 6881,
  uploaded: 0n,
  downloaded: 0n,
  left,
  event,
  at: 1_000_000,
});

function open(): { store: DirectSqliteStore; remove: () => void } {
  const dir = tempDir('sqlite-store');
  const opened = openSqliteStore(join(dir.path, 's.sqlite'));
  if (!opened.ok) throw new Error(opened.error);
  return { store: opened.store, remove: () => dir.remove() };
}

/** Apply each batch to `store` and fold its effects into `pending`, as the repository and the worker do. */
function commit(store: ReturnType<typeof createStore>, pending: ReturnType<typeof createPending>, batches: Change[][], first = 1): void {
  const log = createEffectLog();
  batches.forEach((changes, i) => {
    log.reset();
    for (const c of changes) applyChange(store, c, log);
    pending.add(first + i, Buffer.from(log.bytes()));
  });
}

test('batches folded per row: a peer written three times is one row with its last value, a peer gone has none', () => {
  const { store, remove } = open();
  const model = createStore();
  const pending = createPending();
  commit(model, pending, [[announce(1, 5n), announce(2, 5n), announce(3, 5n)], [announce(1, 4n)], [announce(1, 0n), announce(2, 0n, 3)]]);
  assert.is(pending.peers.size, 3, 'rows 0, 1 and 2 of the pool, each once');
  assert.ok(store.writePending(pending).ok);
  assert.equal(store.counts(), { torrents: 2, peers: 2, lastSeq: 3 });
  const d = new Database(store.path, { readonly: true });
  const rows = d.prepare('SELECT hex(peer_id) p, ip, left FROM peers ORDER BY p').all();
  d.close();
  assert.equal(rows, [
    { p: '01'.repeat(20), ip: Buffer.from([127, 0, 0, 1]), left: 0 },
    { p: '03'.repeat(20), ip: Buffer.from([127, 0, 0, 3]), left: 5 },
  ]);
  store.close();
  remove();
});

test('a write is all or none: a failure leaves the file at the commit before, and what was pending stays pending', () => {
  const { store, remove } = open();
  const model = createStore();
  const pending = createPending();
  commit(model, pending, [[announce(1, 1n)]]);
  assert.ok(store.writePending(pending).ok);
  pending.clear();
  // Someone drops the torrents table under us: the next write, torrents and peers, cannot be stored.
  const other = new Database(store.path);
  other.exec('DROP TABLE torrents');
  commit(model, pending, [[announce(2, 1n)], [announce(3, 1n)]], 2);
  const r = store.writePending(pending);
  assert.not.ok(r.ok);
  if (!r.ok) assert.match(r.error, /torrents/);
  const peers = (other.prepare('SELECT count(*) n FROM peer_rows').get() as { n: number }).n;
  const last = (other.prepare("SELECT value FROM meta WHERE key = 'last_seq'").get() as { value: number }).value;
  assert.is(peers, 1, 'the new peers rolled back with the torrent rows');
  assert.is(last, 1);
  assert.is(pending.peers.size, 2);
  // The table is back: the same pending write now brings the file to commit 3.
  other.exec(
    'CREATE TABLE torrents (id INTEGER PRIMARY KEY, info_hash BLOB NOT NULL, name TEXT, size INTEGER, completed INTEGER NOT NULL DEFAULT 0)',
  );
  other.close();
  assert.ok(store.writePending(pending).ok);
  // The first torrent's row went with the dropped table; the pending one is written.
  assert.equal(store.counts(), { torrents: 1, peers: 3, lastSeq: 3 });
  store.close();
  remove();
});

test('a file of the earlier layout (peers keyed by info hash and peer ID) is replaced at open: it is emptied at start anyway', () => {
  const dir = tempDir('sqlite-store');
  const path = join(dir.path, 'old.sqlite');
  const old = new Database(path);
  old.exec(`CREATE TABLE torrents (info_hash BLOB PRIMARY KEY, name TEXT, size INTEGER, completed INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
    CREATE TABLE peers (info_hash BLOB NOT NULL, peer_id BLOB NOT NULL, ip TEXT NOT NULL, port INTEGER NOT NULL, uploaded INTEGER NOT NULL,
      downloaded INTEGER NOT NULL, left INTEGER NOT NULL, last_seen INTEGER NOT NULL, PRIMARY KEY (info_hash, peer_id)) WITHOUT ROWID;
    INSERT INTO peers VALUES (x'01', x'02', '1.2.3.4', 1, 0, 0, 0, 0);`);
  old.close();
  const opened = openSqliteStore(path);
  assert.ok(opened.ok, opened.ok ? '' : opened.error);
  if (!opened.ok) return;
  const pending = createPending();
  commit(createStore(), pending, [[announce(1, 0n)]]);
  assert.ok(opened.store.writePending(pending).ok);
  assert.equal(opened.store.counts(), { torrents: 1, peers: 1, lastSeq: 1 });
  opened.store.close();
  dir.remove();
});

test.run();
