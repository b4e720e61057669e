/**
 * Reading a repository at rest (scripts/chaos/rest.ts) on SQLite files made here with the tracker's schema: the
 * digest does not depend on the order rows were written in and sees any changed field; the preloaded swarms'
 * peers are counted; only acknowledged peer IDs outside them are collected (memory bounded by the load).
 */
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { scanRepository } from '../../scripts/chaos/rest.js';
import { infoHashOf } from '../../scripts/load.js';
import { tempDir } from '../helpers/temp.js';

type Row = { ih: Buffer; pid: Buffer; port: number; left: number };

function write(path: string, rows: readonly Row[], torrents: ReadonlyArray<{ ih: Buffer; name: string | null }> = []): string {
  const d = new Database(path);
  d.exec(`CREATE TABLE torrents (info_hash BLOB PRIMARY KEY, name TEXT, size INTEGER, completed INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
    CREATE TABLE peers (info_hash BLOB NOT NULL, peer_id BLOB NOT NULL, ip TEXT NOT NULL, port INTEGER NOT NULL, uploaded INTEGER NOT NULL,
      downloaded INTEGER NOT NULL, left INTEGER NOT NULL, last_seen INTEGER NOT NULL, PRIMARY KEY (info_hash, peer_id)) WITHOUT ROWID;`);
  const put = d.prepare('INSERT INTO peers VALUES (?, ?, ?, ?, 0, 0, ?, 1764806400000)');
  d.transaction(() => {
    for (const r of rows) put.run(r.ih, r.pid, '0a4f0001', r.port, r.left);
    for (const t of torrents) d.prepare('INSERT INTO torrents (info_hash, name) VALUES (?, ?)').run(t.ih, t.name);
  })();
  d.close();
  return path;
}

const pid = (i: number): Buffer => Buffer.from(i.toString(16).padStart(40, '0'), 'hex');
const loadSwarm = Buffer.alloc(20, 0xab);

test('digest, preloaded count and acknowledged peer IDs, in one bounded pass', () => {
  const dir = tempDir('chaos-rest');
  try {
    const rows: Row[] = [];
    for (let i = 0; i < 3000; i++) rows.push({ ih: infoHashOf(i % 1000), pid: pid(i), port: 1024 + i, left: i % 3 ? 1e6 : 0 });
    for (let i = 0; i < 50; i++) rows.push({ ih: loadSwarm, pid: pid(100_000 + i), port: 7000, left: 0 });
    const torrents = [{ ih: loadSwarm, name: 'x' }];
    const a = write(join(dir.path, 'a.sqlite'), rows, torrents);
    const b = write(join(dir.path, 'b.sqlite'), [...rows].reverse(), torrents);
    const acked = new Set([pid(100_003), pid(100_049), pid(999_999), pid(5)].map((p) => p.toString('hex')));
    const sa = scanRepository(a, acked);
    const sb = scanRepository(b, acked);
    assert.is(sa.digest, sb.digest, 'the order rows were written in does not matter');
    assert.is(sa.peers, 3050);
    assert.is(sa.preloaded, 3000);
    // pid(5) is a preloaded peer's: only the load's swarms are searched for acknowledged announces.
    assert.equal([...sa.found].sort(), [pid(100_003), pid(100_049)].map((p) => p.toString('hex')).sort());

    const changed = rows.map((r, i) => (i === 1234 ? { ...r, left: r.left + 1 } : r));
    assert.is.not(scanRepository(write(join(dir.path, 'c.sqlite'), changed, torrents), acked).digest, sa.digest, 'one field changed');
    const lacking = scanRepository(write(join(dir.path, 'd.sqlite'), rows.slice(1), torrents), acked);
    assert.is.not(lacking.digest, sa.digest, 'one row fewer');
    assert.is(lacking.preloaded, 2999);
    const named = scanRepository(write(join(dir.path, 'e.sqlite'), rows, [{ ih: loadSwarm, name: 'y' }]), acked);
    assert.is.not(named.digest, sa.digest, 'a torrent row differs');
  } finally {
    dir.remove();
  }
});

test.run();
