/**
 * SQLite mirror of the read model. It only ever applies the row effects of committed changes, gathered over a
 * window (write-behind.ts) and written in one transaction, so the file always holds a prefix of the commit log.
 * Errors come back as values.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { OFF_DOWN, OFF_IP, OFF_LEFT, OFF_PORT, OFF_SEEN, OFF_UP } from '../../src/domain/peer-table.js';
import type { Pending } from './write-behind.js';

export type Written = { ok: true } | { ok: false; error: string };

/** The mirror as the tracker sees it (written by the worker thread of worker-store.ts). */
export type SqliteStore = {
  readonly path: string;
  /** Hand over one committed batch (packed effects, domain/row-effects.ts; copied). Stored within the lag. */
  writeBatch(seq: number, effects: Buffer): Written;
  /** Empty every table (shutdown, or before a state transfer is loaded). */
  clear(): void;
  counts(): Promise<{ torrents: number; peers: number; lastSeq: number }>;
  /** Resolves once every batch handed over so far is stored (written now, not at the end of the lag), or failed. */
  flush(): Promise<void>;
  /** Seconds the file trails the repository: the age of the oldest batch handed over and not yet stored. */
  lagSeconds(): number;
  close(): void | Promise<void>;
};

/** The file itself, on the thread that writes it. */
export type DirectSqliteStore = {
  readonly path: string;
  /**
   * Write everything pending in one transaction (all or none), rows in row order so each page is read and
   * written once, and record its commit: the file holds a prefix of the commit log.
   */
  writePending(p: Pending): Written;
  clear(): Written;
  counts(): { torrents: number; peers: number; lastSeq: number };
  close(): void;
};

/** SQLite integers are signed 64-bit; a client may send 2^64-1 as `left`. Clamp rather than fail. */
const I64_MAX = (1n << 63n) - 1n;
const i64 = (v: bigint): bigint => (v > I64_MAX ? I64_MAX : v);
/** A packed u64 as SQLite takes it: a plain number while exact (no BigInt per field), else clamped. */
const u64At = (b: Buffer, at: number): number | bigint => {
  const hi = b.readUInt32LE(at + 4);
  return hi < 0x200000 ? hi * 0x100000000 + b.readUInt32LE(at) : i64(b.readBigUInt64LE(at));
};

/**
 * Integer row IDs from the repository (domain/row-effects.ts): a new peer appends at the end of the table and an
 * update finds its row by integer, where a key of (info hash, peer ID) put every new peer at a random place of a
 * B-tree of 40-byte keys (9–11 µs per row at 300,000 peers, against about 1–4 µs here). The `peers` view gives
 * the rows with their info hash, for people and tools.
 */
const SCHEMA_VERSION = 2;
/**
 * A file of another layout (an earlier version's, where `peers` was a table keyed by info hash and peer ID) is
 * dropped: the repository is emptied at every start anyway.
 */
function dropOtherLayout(db: Database.Database): void {
  if (db.pragma('user_version', { simple: true }) === SCHEMA_VERSION) return;
  const objects = db
    .prepare("SELECT type, name FROM sqlite_master WHERE name IN ('peers', 'peer_rows', 'torrents', 'meta')")
    .all() as Array<{
    type: string;
    name: string;
  }>;
  for (const o of objects) db.exec(`DROP ${o.type === 'view' ? 'VIEW' : 'TABLE'} IF EXISTS ${o.name}`);
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS torrents (
  id INTEGER PRIMARY KEY,
  info_hash BLOB NOT NULL,
  name TEXT,
  size INTEGER,
  completed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS peer_rows (
  id INTEGER PRIMARY KEY,
  torrent INTEGER NOT NULL,
  peer_id BLOB NOT NULL,
  ip BLOB NOT NULL,
  port INTEGER NOT NULL,
  uploaded INTEGER NOT NULL,
  downloaded INTEGER NOT NULL,
  left INTEGER NOT NULL,
  last_seen INTEGER NOT NULL
);
CREATE VIEW IF NOT EXISTS peers AS
  SELECT t.info_hash, p.peer_id, p.ip, p.port, p.uploaded, p.downloaded, p.left, p.last_seen
  FROM peer_rows p JOIN torrents t ON t.id = p.torrent;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
PRAGMA user_version = ${SCHEMA_VERSION};
`;

/**
 * mkdir -p, one level at a time from the deepest existing ancestor: Node's recursive mkdirSync loops forever on
 * some paths (under /proc, seen on Node 20), which would hang the start instead of refusing it.
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) mkdirSync(d);
}

export function openSqliteStore(path: string): { ok: true; store: DirectSqliteStore } | { ok: false; error: string } {
  let db: Database.Database;
  try {
    if (path !== ':memory:') makeDirs(dirname(path));
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    // The repository lives only while the tracker runs (it is emptied at shutdown): no fsync per commit.
    db.pragma('synchronous = OFF');
    dropOtherLayout(db);
    db.exec(SCHEMA);
    return { ok: true, store: storeOn(db, path) };
  } catch (e) {
    return { ok: false, error: `cannot open SQLite database ${path}: ${(e as Error).message}` };
  }
}

const ROWS_PER_INSERT = 32;

/** The 9 columns of a peer row from its pending bytes (torrent u32, then the record of peer-table.ts), at `at`. */
function peerArgs(args: unknown[], at: number, row: number, r: Buffer): void {
  args[at] = row;
  args[at + 1] = r.readUInt32LE(0);
  args[at + 2] = r.subarray(4, 24);
  args[at + 3] = r.subarray(4 + OFF_IP);
  args[at + 4] = r.readUInt16LE(4 + OFF_PORT);
  args[at + 5] = u64At(r, 4 + OFF_UP);
  args[at + 6] = u64At(r, 4 + OFF_DOWN);
  args[at + 7] = u64At(r, 4 + OFF_LEFT);
  args[at + 8] = r.readUInt32LE(4 + OFF_SEEN) * 1000;
}

function storeOn(db: Database.Database, path: string): DirectSqliteStore {
  const putPeer = db.prepare('INSERT OR REPLACE INTO peer_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const deletePeer = db.prepare('DELETE FROM peer_rows WHERE id = ?');
  const putTorrent = db.prepare('INSERT OR REPLACE INTO torrents VALUES (?, ?, ?, ?, ?)');
  const deleteTorrent = db.prepare('DELETE FROM torrents WHERE id = ?');
  const setSeq = db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('last_seq', ?)`);

  // Rows go in statements of ROWS_PER_INSERT: one call into SQLite per 32 rows, not per row (about half the
  // CPU of a row appended, measured).
  const putPeers = db.prepare(
    `INSERT OR REPLACE INTO peer_rows VALUES ${Array(ROWS_PER_INSERT).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
  );
  const args: unknown[] = new Array(ROWS_PER_INSERT * 9);
  const write = db.transaction((p: Pending) => {
    for (const [id, t] of p.torrents) {
      if (t === null) deleteTorrent.run(id);
      else putTorrent.run(id, t.infoHash, t.name, t.size === null ? null : i64(t.size), t.completed);
    }
    let gathered = 0;
    for (const row of Float64Array.from(p.peers.keys()).sort()) {
      const r = p.peers.get(row)!;
      if (r === null) {
        deletePeer.run(row);
        continue;
      }
      peerArgs(args, gathered * 9, row, r);
      if (++gathered === ROWS_PER_INSERT) {
        putPeers.run(args);
        gathered = 0;
      }
    }
    for (let i = 0; i < gathered; i++) putPeer.run(args.slice(i * 9, i * 9 + 9));
    setSeq.run(p.seq);
  });

  const count = (sql: string): number => db.prepare(sql).pluck().get() as number;
  return {
    path,
    writePending(p) {
      try {
        write(p);
        return { ok: true };
      } catch (e) {
        return { ok: false, error: (e as Error).message };
      }
    },
    clear() {
      try {
        db.exec('DELETE FROM peer_rows; DELETE FROM torrents; DELETE FROM meta;');
        return { ok: true };
      } catch (e) {
        return { ok: false, error: (e as Error).message };
      }
    },
    counts() {
      const lastSeq = (db.prepare("SELECT value FROM meta WHERE key = 'last_seq'").pluck().get() as number | undefined) ?? 0;
      return { torrents: count('SELECT count(*) FROM torrents'), peers: count('SELECT count(*) FROM peer_rows'), lastSeq };
    },
    close() {
      if (db.open) db.close();
    },
  };
}
