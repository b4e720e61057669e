/**
 * Committed row effects not yet in the SQLite file, folded per row: a peer announcing five times inside one
 * window is written once, and a row added then deleted not at all. What it holds is exactly the difference
 * between the file and the repository as of `seq`, so writing it in one transaction brings the file to that
 * commit, and a write that failed (a full disk) can simply be tried again later: nothing is lost meanwhile.
 */
import { readEffects, type TorrentRow } from '../../src/domain/row-effects.js';

export type Pending = {
  /** Fold one committed batch (packed effects; kept by reference, so hand over a buffer nobody reuses). */
  add(seq: number, effects: Buffer): void;
  /** Peer rows by row number: torrent u32 then the packed record, or null for a deleted row. */
  readonly peers: Map<number, Buffer | null>;
  readonly torrents: Map<number, TorrentRow | null>;
  /** The last commit folded in. */
  readonly seq: number;
  readonly size: number;
  clear(): void;
};

export function createPending(): Pending {
  const peers = new Map<number, Buffer | null>();
  const torrents = new Map<number, TorrentRow | null>();
  let seq = 0;
  return {
    add(at, effects) {
      seq = at;
      readEffects(effects, {
        peer: (row, _torrent, family, data, from) => peers.set(row, data.subarray(from - 4, from + (family === 4 ? 54 : 66))),
        peerGone: (row) => peers.set(row, null),
        torrent: (t) => torrents.set(t.id, t),
        torrentGone: (id) => torrents.set(id, null),
      });
    },
    peers,
    torrents,
    get seq() {
      return seq;
    },
    get size() {
      return peers.size + torrents.size;
    },
    clear() {
      peers.clear();
      torrents.clear();
    },
  };
}
