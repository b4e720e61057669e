/**
 * What an HTTP announce or scrape means for the swarms: the change to commit (the same AnnounceChange a UDP
 * announce makes, so consensus, replication and SQLite need nothing new) and, once committed, the bencoded reply
 * read from the swarm store. Pure: the clock reading and the store are arguments.
 */
import { addressBytes } from '../protocol/compact.js';
import { announceChange, DEFAULT_NUM_WANT, getSwarm, leechers, MAX_NUM_WANT, scrapeEntry } from '../domain/swarm.js';
import { OFF_IP, OFF_PORT, offsetOf, slabOf } from '../domain/peer-table.js';
import type { AnnounceChange, SwarmStore } from '../domain/types.js';
import type { HttpAnnounce, HttpFrom } from './query.js';
import { announceReply, scrapeReply, type ReplyPeer } from './replies.js';

const ID_LEN = 20;

/** An HTTP client waiting for its announce to commit: what its reply needs, and how to hand the reply over. */
export type HttpClientRef = {
  readonly kind: 'http';
  readonly numWant: number;
  /** Requester's address bytes (IPv4-mapped counts as IPv4) and announced port: kept out of its own peer list. */
  readonly ip: Buffer;
  readonly port: number;
  readonly family: 4 | 6;
  readonly compact: boolean;
  readonly noPeerId: boolean;
  /** Varies per request so different requesters see different windows of a large swarm. */
  readonly offset: number;
  /** Called once with the bencoded body: the announce reply after COMMIT, a failure reply after ABORT. */
  readonly settle: (body: Buffer) => void;
};

export type HttpAnnounceChange =
  | { ok: true; change: AnnounceChange; client: Omit<HttpClientRef, 'settle'> }
  | { ok: false; failureReason: string };

/**
 * The change an HTTP announce proposes. Like UDP, the address is the connection's (the `ip` parameter is never
 * trusted) and last-seen times are whole seconds of the Master's clock (`nowMs`).
 */
export function httpAnnounceChange(req: HttpAnnounce, from: HttpFrom, nowMs: number): HttpAnnounceChange {
  const addr = addressBytes(from.address);
  if (!addr) return { ok: false, failureReason: 'unusable sender address' };
  const at = Math.floor(nowMs / 1000) * 1000;
  return {
    ok: true,
    change: announceChange(req, addr.ip, at),
    client: {
      kind: 'http',
      numWant: req.numWant,
      ip: addr.ip,
      port: req.port,
      family: addr.family,
      compact: req.compact,
      noPeerId: req.noPeerId,
      offset: from.port,
    },
  };
}

/** HTTP has no datagram size limit: the IPv6 cap that keeps a UDP reply in one MTU does not apply here. */
export function httpNumWant(numWant: number): number {
  return Math.min(numWant < 0 ? DEFAULT_NUM_WANT : numWant, MAX_NUM_WANT);
}

/**
 * Up to `count` peers of `family` with their IDs, never the requester, from a window starting at `offset`:
 * the same selection as `writePeers` (UDP), which cannot give peer IDs for the dictionary model.
 */
export function selectReplyPeers(
  store: SwarmStore,
  infoHash: Buffer,
  family: 4 | 6,
  self: { ip: Buffer; port: number },
  count: number,
  offset: number,
): ReplyPeer[] {
  const s = getSwarm(store, infoHash);
  const t = s ? (family === 4 ? s.v4 : s.v6) : null;
  const out: ReplyPeer[] = [];
  if (!t || count <= 0 || t.count === 0) return out;
  const p = family === 4 ? store.v4 : store.v6;
  const n = t.count;
  const start = (offset >>> 0) % n;
  for (let i = 0; i < n && out.length < count; i++) {
    const slot = (start + i) % n;
    const d = slabOf(p, t, slot);
    const rec = offsetOf(p, t, slot);
    const port = d.readUInt16LE(rec + OFF_PORT);
    if (port === self.port && self.ip.compare(d, rec + OFF_IP, rec + OFF_IP + p.ipLen) === 0) continue;
    out.push({
      ip: Buffer.from(d.subarray(rec + OFF_IP, rec + OFF_IP + p.ipLen)),
      port,
      peerId: Buffer.from(d.subarray(rec, rec + ID_LEN)),
    });
  }
  return out;
}

/** The announce reply for `client` from the store as it is after its change was applied. */
export function httpAnnounceBody(
  store: SwarmStore,
  infoHash: Buffer,
  client: Omit<HttpClientRef, 'settle' | 'kind'>,
  intervalS: number,
): Buffer {
  const s = getSwarm(store, infoHash);
  const peers = selectReplyPeers(store, infoHash, client.family, client, httpNumWant(client.numWant), client.offset);
  return announceReply({
    interval: intervalS,
    complete: s ? s.seeders : 0,
    incomplete: s ? leechers(s) : 0,
    peers,
    compact: client.compact,
    noPeerId: client.noPeerId,
  });
}

/** BEP 48 scrape from memory; unknown hashes count zero, as over UDP. */
export function httpScrapeBody(store: SwarmStore, infoHashes: readonly Buffer[]): Buffer {
  return scrapeReply(
    infoHashes.map((infoHash) => {
      const e = scrapeEntry(store, infoHash);
      return { infoHash, complete: e.seeders, downloaded: e.completed, incomplete: e.leechers };
    }),
  );
}
