/**
 * Bencoded HTTP tracker replies (BEP 3 announce, BEP 23 compact peers, BEP 7 `peers6`, BEP 48 scrape, failures).
 * Pure builders that always return a valid bencoded body: should the encoder refuse a value (a NaN count is a bug
 * upstream), the client gets a `failure reason` instead of a broken body, and the bug is visible in that text.
 */
import { addressText } from '../protocol/compact.js';
import { encodeBencode, type BencodeValue } from './bencode-encode.js';

/** One peer to hand out: 4 or 16 raw address bytes (IPv4-mapped IPv6 counts as IPv4), its port, its ID. */
export type ReplyPeer = { readonly ip: Buffer; readonly port: number; readonly peerId?: Buffer };

export type AnnounceReplyInput = {
  /** Seconds the client should wait before its next regular announce. */
  readonly interval: number;
  /** Optional `min interval` (seconds): clients must not re-announce sooner. */
  readonly minInterval?: number;
  /** Seeders. */
  readonly complete: number;
  /** Leechers. */
  readonly incomplete: number;
  readonly peers: readonly ReplyPeer[];
  /** BEP 23: peers as packed strings; otherwise the BEP 3 dictionary model. */
  readonly compact: boolean;
  /** Dictionary model only: leave `peer id` out (the client asked for it with no_peer_id=1). */
  readonly noPeerId: boolean;
};

export type ScrapeFile = {
  readonly infoHash: Buffer;
  /** Seeders. */
  readonly complete: number;
  /** Completed downloads ever counted (BEP 48 `downloaded`). */
  readonly downloaded: number;
  /** Leechers. */
  readonly incomplete: number;
};

const V4_MAPPED_PREFIX = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);

/** 4 bytes for IPv4 (also for an IPv4-mapped IPv6 address), 16 for IPv6, null for anything else. */
function normalise(ip: Buffer): Buffer | null {
  if (ip.length === 4) return ip;
  if (ip.length !== 16) return null;
  return ip.subarray(0, 12).equals(V4_MAPPED_PREFIX) ? ip.subarray(12) : ip;
}

const validPort = (port: number): boolean => Number.isInteger(port) && port >= 0 && port <= 0xffff;

export function failureReply(reason: string): Buffer {
  const r = encodeBencode({ 'failure reason': reason });
  // A dict of one string cannot fail to encode; the fallback only keeps this function total.
  return r.ok ? r.data : Buffer.from('d14:failure reason14:internal errore', 'latin1');
}

function encodeOrFailure(v: BencodeValue): Buffer {
  const r = encodeBencode(v);
  return r.ok ? r.data : failureReply(`internal error: ${r.error}`);
}

/** BEP 23 packed peers: `peers` holds 6 bytes per IPv4 peer, `peers6` (BEP 7) 18 bytes per IPv6 peer. */
export function compactPeers(peers: readonly ReplyPeer[]): { v4: Buffer; v6: Buffer } {
  const v4: Buffer[] = [];
  const v6: Buffer[] = [];
  for (const p of peers) {
    const ip = normalise(p.ip);
    if (!ip || !validPort(p.port)) continue; // nothing a client could connect to
    const entry = Buffer.allocUnsafe(ip.length + 2);
    ip.copy(entry, 0);
    entry.writeUInt16BE(p.port, ip.length);
    (ip.length === 4 ? v4 : v6).push(entry);
  }
  return { v4: Buffer.concat(v4), v6: Buffer.concat(v6) };
}

/** BEP 3 dictionary model: `[{ ip, port, peer id }]`, the address as text. */
function peerDicts(peers: readonly ReplyPeer[], noPeerId: boolean): BencodeValue[] {
  const out: BencodeValue[] = [];
  for (const p of peers) {
    const ip = normalise(p.ip);
    if (!ip || !validPort(p.port)) continue;
    const d: Record<string, BencodeValue> = { ip: addressText(ip), port: p.port };
    if (!noPeerId && p.peerId) d['peer id'] = p.peerId;
    out.push(d);
  }
  return out;
}

export function announceReply(a: AnnounceReplyInput): Buffer {
  const reply: Record<string, BencodeValue> = { interval: a.interval, complete: a.complete, incomplete: a.incomplete };
  if (a.minInterval !== undefined) reply['min interval'] = a.minInterval;
  if (a.compact) {
    const { v4, v6 } = compactPeers(a.peers);
    reply.peers = v4; // always present, even empty: some clients treat a missing `peers` as an error
    if (v6.length > 0) reply.peers6 = v6;
  } else {
    reply.peers = peerDicts(a.peers, a.noPeerId);
  }
  return encodeOrFailure(reply);
}

/** BEP 48: `files` maps each raw 20-byte info hash to its counts; unknown torrents are the caller's zeros. */
export function scrapeReply(files: readonly ScrapeFile[]): Buffer {
  const byHash = new Map<Buffer, BencodeValue>();
  const seen = new Set<string>();
  for (const f of files) {
    // The same hash asked twice is one entry (a repeated dict key would be invalid bencode).
    const k = f.infoHash.toString('latin1');
    if (seen.has(k)) continue;
    seen.add(k);
    byHash.set(f.infoHash, { complete: f.complete, downloaded: f.downloaded, incomplete: f.incomplete });
  }
  return encodeOrFailure({ files: byHash });
}
