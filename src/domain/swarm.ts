/**
 * Swarm logic: applying changes to the read model and answering from it. Deterministic and free of I/O and
 * clocks, so every replica that applies the same changes in the same order ends with the same state.
 */
import { Event } from '../protocol/constants.js';
import type { CompactPeer, ScrapeEntry } from '../protocol/types.js';
import type { AnnounceChange, Change, PeerState, RowEffect, Swarm, SwarmStore } from './types.js';

export const DEFAULT_NUM_WANT = 50;
export const MAX_NUM_WANT = 200;

export const createStore = (): SwarmStore => ({ swarms: new Map() });

const hashKey = (h: Buffer): string => h.toString('latin1');

function newSwarm(infoHash: Buffer): Swarm {
  return { infoHash: Buffer.from(infoHash), peers: [], index: new Map(), seeders: 0, completed: 0, name: null, size: null };
}

export function getSwarm(store: SwarmStore, infoHash: Buffer): Swarm | undefined {
  return store.swarms.get(hashKey(infoHash));
}

function swarmFor(store: SwarmStore, infoHash: Buffer): Swarm {
  const key = hashKey(infoHash);
  let s = store.swarms.get(key);
  if (!s) {
    s = newSwarm(infoHash);
    store.swarms.set(key, s);
  }
  return s;
}

/** Swap-remove keeps the array dense; order inside a swarm carries no meaning. */
function removeAt(s: Swarm, slot: number): PeerState {
  const gone = s.peers[slot]!;
  const last = s.peers.pop()!;
  s.index.delete(hashKey(gone.peerId));
  if (slot < s.peers.length) {
    s.peers[slot] = last;
    s.index.set(hashKey(last.peerId), slot);
  }
  if (gone.left === 0n) s.seeders--;
  return gone;
}

export function leechers(s: Swarm): number {
  return s.peers.length - s.seeders;
}

function applyAnnounce(store: SwarmStore, c: AnnounceChange, out: RowEffect[]): void {
  const s = swarmFor(store, c.infoHash);
  const key = hashKey(c.peerId);
  const slot = s.index.get(key);
  const before = slot === undefined ? undefined : s.peers[slot]!;

  if (c.event === Event.stopped) {
    if (slot !== undefined) {
      removeAt(s, slot);
      out.push({ kind: 'peer-delete', infoHash: s.infoHash, peerId: c.peerId });
    }
    return;
  }

  // A download counts once: a `completed` from a peer we already knew as a seeder is a repeat.
  if (c.event === Event.completed && !(before && before.left === 0n)) {
    s.completed++;
    out.push({ kind: 'torrent-upsert', swarm: s });
  } else if (s.peers.length === 0 && !before) {
    out.push({ kind: 'torrent-upsert', swarm: s });
  }

  const peer: PeerState = {
    peerId: before ? before.peerId : Buffer.from(c.peerId),
    ip: c.ip, port: c.port, uploaded: c.uploaded, downloaded: c.downloaded, left: c.left, lastSeen: c.at,
  };
  if (before) {
    if (before.left === 0n) s.seeders--;
    s.peers[slot!] = peer;
  } else {
    s.index.set(key, s.peers.length);
    s.peers.push(peer);
  }
  if (peer.left === 0n) s.seeders++;
  out.push({ kind: 'peer-upsert', infoHash: s.infoHash, peer });
}

function applyExpire(store: SwarmStore, before: number, out: RowEffect[]): void {
  for (const [key, s] of store.swarms) {
    for (let i = s.peers.length - 1; i >= 0; i--) {
      const p = s.peers[i]!;
      if (p.lastSeen < before) {
        removeAt(s, i);
        out.push({ kind: 'peer-delete', infoHash: s.infoHash, peerId: p.peerId });
      }
    }
    if (s.peers.length === 0 && s.name === null) {
      store.swarms.delete(key);
      out.push({ kind: 'torrent-delete', infoHash: s.infoHash });
    }
  }
}

/** Apply one change; returns the row effects for persistence (appended to `out`). */
export function applyChange(store: SwarmStore, c: Change, out: RowEffect[] = []): RowEffect[] {
  switch (c.kind) {
    case 'announce':
      applyAnnounce(store, c, out);
      break;
    case 'expire':
      applyExpire(store, c.before, out);
      break;
    case 'torrent': {
      const s = swarmFor(store, c.infoHash);
      s.name = c.name;
      s.size = c.size;
      if (c.completed !== undefined) s.completed = c.completed;
      out.push({ kind: 'torrent-upsert', swarm: s });
      break;
    }
  }
  return out;
}

/** BEP 15 num_want: negative means "default"; the cap keeps a reply inside one datagram. */
export function effectiveNumWant(numWant: number, family: 4 | 6): number {
  const cap = family === 4 ? MAX_NUM_WANT : 80; // 80 × 18 bytes + header stays under a 1500-byte MTU
  const wanted = numWant < 0 ? DEFAULT_NUM_WANT : numWant;
  return Math.min(wanted, cap);
}

/**
 * Up to `count` peers of the requester's family, never the requester itself. The window starts at `offset`
 * (the caller passes something that varies per request) so different requesters see different peers.
 */
export function selectPeers(
  s: Swarm | undefined, family: 4 | 6, self: { ip: Buffer; port: number }, count: number, offset: number,
): CompactPeer[] {
  const picked: CompactPeer[] = [];
  if (!s || count <= 0) return picked;
  const n = s.peers.length;
  const addrLen = family === 4 ? 4 : 16;
  const start = n === 0 ? 0 : (offset >>> 0) % n;
  for (let i = 0; i < n && picked.length < count; i++) {
    const p = s.peers[(start + i) % n]!;
    if (p.ip.length !== addrLen) continue;
    if (p.port === self.port && p.ip.equals(self.ip)) continue;
    picked.push({ ip: p.ip, port: p.port });
  }
  return picked;
}

export function scrapeEntry(store: SwarmStore, infoHash: Buffer): ScrapeEntry {
  const s = getSwarm(store, infoHash);
  if (!s) return { seeders: 0, completed: 0, leechers: 0 };
  return { seeders: s.seeders, completed: s.completed, leechers: leechers(s) };
}

export function countPeers(store: SwarmStore): number {
  let n = 0;
  for (const s of store.swarms.values()) n += s.peers.length;
  return n;
}
