/**
 * Reading a repository at rest in bounded time and memory, whatever its size (a preloaded run holds 500,000 peers
 * and more): the digest is one pass over the SQLite mirror in primary-key order (WITHOUT ROWID tables: no sort),
 * each row formatted by SQLite and fed to the hash as it is read; the preloaded swarms' peers are counted by a
 * range of the key; the acknowledged peer IDs are looked for among the other swarms' peers only. Nothing is kept
 * but the acknowledged peer IDs found: memory is bounded by the load's acknowledgements, not by the repository.
 * All of it in one read transaction (one snapshot of a file the tracker may still be writing).
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';

export type Scan = {
  /** SHA-256 of every peer and torrent row in key order: equal for equal repositories. */
  readonly digest: string;
  readonly peers: number;
  /** Peers in the preloaded swarms (preload.ts). */
  readonly preloaded: number;
  /** The acknowledged peer IDs (hex) this repository holds. */
  readonly found: ReadonlySet<string>;
};

/** The preloaded swarms' info hashes: 7a11ce00, 12 zero bytes, the swarm's index (preload.ts). */
const LOW = "X'7a11ce0000000000000000000000000000000000'";
const HIGH = "X'7a11ce00000000000000000000000000ffffffff'";

const PEER_ROWS = `SELECT CAST('p ' || hex(info_hash) || ' ' || hex(peer_id) || ' ' || hex(ip) || ' ' || port || ' ' || uploaded || ' ' ||
  downloaded || ' ' || left || ' ' || last_seen || char(10) AS BLOB) FROM peers ORDER BY info_hash, peer_id`;
const TORRENT_ROWS = `SELECT CAST('t ' || hex(info_hash) || ' ' || ifnull(name, '') || ' ' || ifnull(size, '') || ' ' || completed ||
  char(10) AS BLOB) FROM torrents ORDER BY info_hash`;

export function scanRepository(db: string, acked: ReadonlySet<string>): Scan {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    d.exec('BEGIN');
    const hash = createHash('sha256');
    let peers = 0;
    for (const row of d.prepare(PEER_ROWS).pluck().iterate() as Iterable<Buffer>) {
      hash.update(row);
      peers++;
    }
    for (const row of d.prepare(TORRENT_ROWS).pluck().iterate() as Iterable<Buffer>) hash.update(row);
    const preloaded = d.prepare(`SELECT count(*) FROM peers WHERE info_hash BETWEEN ${LOW} AND ${HIGH}`).pluck().get() as number;
    const found = new Set<string>();
    const others = d.prepare(`SELECT lower(hex(peer_id)) FROM peers WHERE info_hash NOT BETWEEN ${LOW} AND ${HIGH}`).pluck();
    for (const id of others.iterate() as Iterable<string>) if (acked.has(id)) found.add(id);
    d.exec('COMMIT');
    return { digest: hash.digest('hex'), peers, preloaded, found };
  } finally {
    d.close();
  }
}
