/**
 * SQLite mirror of the read model. It only ever applies the row effects of committed changes, one transaction
 * per committed batch or per run of consecutive ones, so the file always holds a prefix of the commit log.
 * Errors come back as values.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { OFF_DOWN, OFF_IP, OFF_LEFT, OFF_PORT, OFF_SEEN, OFF_UP } from '../../src/domain/peer-table.js';
import { scanChunk } from '../../src/domain/snapshot-codec.js';
import { addressText } from '../../src/protocol/compact.js';
import type { RowEffect } from '../../src/domain/types.js';
import type { PackedEffect } from './effects-codec.js';

export type SqliteStore = {
  readonly path: string;
  /** Write one committed batch atomically and record its sequence number. */
  writeBatch(seq: number, effects: readonly (RowEffect | PackedEffect)[]): { ok: true } | { ok: false; error: string };
  /** One chunk of a state transfer (domain/snapshot-codec.ts), in one transaction, straight from its bytes. */
  writeSnapshot(seq: number, chunk: Buffer): { ok: true } | { ok: false; error: string };
  /** Empty every table (shutdown, or before a state transfer is loaded). */
  clear(): void;
  counts(): Promise<{ torrents: number; peers: number; lastSeq: number }>;
  /** Resolves once every write handed over so far is stored (immediate here; the worker store is asynchronous). */
  flush(): Promise<void>;
  close(): void | Promise<void>;
};

export type CommittedBatch = { readonly seq: number; readonly effects: readonly (RowEffect | PackedEffect)[] };

/** The store on this thread, which can also write several committed batches as one transaction. */
export type DirectSqliteStore = SqliteStore & {
  /**
   * Write consecutive committed batches in one transaction (all or none) and record the last sequence number:
   * the file still holds a prefix of the commit log, and each page a batch touches is written once per
   * transaction, not once per batch (about half the cost per row with a few hundred rows together).
   */
  writeBatches(batches: readonly CommittedBatch[]): { ok: true } | { ok: false; error: string };
};

/** SQLite integers are signed 64-bit; a client may send 2^64-1 as `left`. Clamp rather than fail. */
const I64_MAX = (1n << 63n) - 1n;
const i64 = (v: bigint): bigint => (v > I64_MAX ? I64_MAX : v);
/** A packed u64 as SQLite takes it: a plain number while exact (no BigInt per field), else clamped. */
const u64At = (b: Buffer, at: number): number | bigint => {
  const hi = b.readUInt32LE(at + 4);
  return hi < 0x200000 ? hi * 0x100000000 + b.readUInt32LE(at) : i64(b.readBigUInt64LE(at));
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS torrents (
  info_hash BLOB PRIMARY KEY,
  name TEXT,
  size INTEGER,
  completed INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS peers (
  info_hash BLOB NOT NULL,
  peer_id BLOB NOT NULL,
  ip TEXT NOT NULL,
  port INTEGER NOT NULL,
  uploaded INTEGER NOT NULL,
  downloaded INTEGER NOT NULL,
  left INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (info_hash, peer_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
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
    db.exec(SCHEMA);
  } catch (e) {
    return { ok: false, error: `cannot open SQLite database ${path}: ${(e as Error).message}` };
  }

  const upsertPeer = db.prepare(`INSERT INTO peers (info_hash, peer_id, ip, port, uploaded, downloaded, left, last_seen)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (info_hash, peer_id) DO UPDATE SET ip = excluded.ip, port = excluded.port, uploaded = excluded.uploaded,
      downloaded = excluded.downloaded, left = excluded.left, last_seen = excluded.last_seen`);
  const deletePeer = db.prepare('DELETE FROM peers WHERE info_hash = ? AND peer_id = ?');
  const upsertTorrent = db.prepare(`INSERT INTO torrents (info_hash, name, size, completed) VALUES (?, ?, ?, ?)
    ON CONFLICT (info_hash) DO UPDATE SET name = excluded.name, size = excluded.size, completed = excluded.completed`);
  const deleteTorrent = db.prepare('DELETE FROM torrents WHERE info_hash = ?');
  const setSeq = db.prepare(`INSERT INTO meta (key, value) VALUES ('last_seq', ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value`);

  const write = db.transaction((batches: readonly CommittedBatch[]) => {
    for (const { effects } of batches)
      for (const e of effects) {
        switch (e.kind) {
          case 'peer-upsert': {
            const p = e.peer;
            upsertPeer.run(e.infoHash, p.peerId, addressText(p.ip), p.port, i64(p.uploaded), i64(p.downloaded), i64(p.left), p.lastSeen);
            break;
          }
          case 'peer-delete':
            deletePeer.run(e.infoHash, e.peerId);
            break;
          case 'torrent-upsert':
            upsertTorrent.run(e.swarm.infoHash, e.swarm.name, e.swarm.size === null ? null : i64(e.swarm.size), e.swarm.completed);
            break;
          case 'torrent-delete':
            deleteTorrent.run(e.infoHash);
            break;
        }
      }
    if (batches.length > 0) setSeq.run(batches[batches.length - 1]!.seq);
  });

  const deleteSwarmPeers = db.prepare('DELETE FROM peers WHERE info_hash = ?');
  /** The swarm a transfer's records belong to: a large one continues from one chunk into the next. */
  let snapshotSwarm: Buffer | null = null;
  const writeChunk = db.transaction((seq: number, chunk: Buffer) => {
    const read = scanChunk(chunk, snapshotSwarm !== null, {
      swarm(e) {
        snapshotSwarm = e.infoHash;
        deleteSwarmPeers.run(e.infoHash); // a swarm sent twice: its second copy replaces the first
        upsertTorrent.run(e.infoHash, e.name, e.size === null ? null : i64(e.size), e.completed);
      },
      records(family, b, at, count) {
        const stride = family === 4 ? 54 : 66;
        const ipLen = family === 4 ? 4 : 16;
        for (let i = 0, r = at; i < count; i++, r += stride) {
          const ip = addressText(b.subarray(r + OFF_IP, r + OFF_IP + ipLen));
          const seen = b.readUInt32LE(r + OFF_SEEN) * 1000;
          upsertPeer.run(
            snapshotSwarm,
            b.subarray(r, r + 20),
            ip,
            b.readUInt16LE(r + OFF_PORT),
            u64At(b, r + OFF_UP),
            u64At(b, r + OFF_DOWN),
            u64At(b, r + OFF_LEFT),
            seen,
          );
        }
      },
    });
    if (!read.ok) throw new Error(read.error);
    setSeq.run(seq);
  });

  const writeBatches = (batches: readonly CommittedBatch[]): { ok: true } | { ok: false; error: string } => {
    try {
      write(batches);
      return { ok: true };
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  };
  const store: DirectSqliteStore = {
    path,
    writeBatch: (seq, effects) => writeBatches([{ seq, effects }]),
    writeBatches,
    writeSnapshot(seq, chunk) {
      try {
        writeChunk(seq, chunk);
        return { ok: true };
      } catch (e) {
        return { ok: false, error: (e as Error).message };
      }
    },
    clear() {
      snapshotSwarm = null;
      db.exec('DELETE FROM peers; DELETE FROM torrents; DELETE FROM meta;');
    },
    async counts() {
      const t = db.prepare('SELECT count(*) AS n FROM torrents').get() as { n: number };
      const p = db.prepare('SELECT count(*) AS n FROM peers').get() as { n: number };
      const s = db.prepare("SELECT value FROM meta WHERE key = 'last_seq'").get() as { value: number } | undefined;
      return { torrents: t.n, peers: p.n, lastSeq: s?.value ?? 0 };
    },
    flush: async () => {},
    close() {
      if (db.open) db.close();
    },
  };
  return { ok: true, store };
}
