/** Pure BEP 15 encoders for replies, and for requests (used by tests, the replayer and the load generator). */
import {
  Action,
  ANNOUNCE_LEN,
  ANNOUNCE_REPLY_HEADER_LEN,
  CONNECT_REPLY_LEN,
  HASH_LEN,
  HEADER_LEN,
  OFF_ACTION,
  OFF_CONNECTION_ID,
  OFF_DOWNLOADED,
  OFF_EVENT,
  OFF_INFO_HASH,
  OFF_IP,
  OFF_KEY,
  OFF_LEFT,
  OFF_NUM_WANT,
  OFF_PEER_ID,
  OFF_PORT,
  OFF_TRANSACTION_ID,
  OFF_UPLOADED,
  PROTOCOL_ID,
  SCRAPE_REPLY_ENTRY_LEN,
} from './constants.js';
import type { AnnounceReply, AnnounceRequest, ScrapeEntry } from './types.js';

export function encodeConnectReply(transactionId: number, connectionId: bigint): Buffer {
  const out = Buffer.allocUnsafe(CONNECT_REPLY_LEN);
  out.writeUInt32BE(Action.connect, 0);
  out.writeUInt32BE(transactionId >>> 0, 4);
  out.writeBigUInt64BE(connectionId, 8);
  return out;
}

export function encodeAnnounceReply(r: AnnounceReply): Buffer {
  const out = Buffer.allocUnsafe(ANNOUNCE_REPLY_HEADER_LEN + r.peers.length);
  writeAnnounceReplyHeader(out, r.transactionId, r.interval, r.leechers, r.seeders);
  r.peers.copy(out, ANNOUNCE_REPLY_HEADER_LEN);
  return out;
}

/** The 20-byte announce reply header, written in place (the peers follow, written by the caller). */
export function writeAnnounceReplyHeader(out: Buffer, transactionId: number, interval: number, leechers: number, seeders: number): void {
  out.writeUInt32BE(Action.announce, 0);
  out.writeUInt32BE(transactionId >>> 0, 4);
  out.writeUInt32BE(interval >>> 0, 8);
  out.writeUInt32BE(Math.min(leechers, 0xffffffff), 12);
  out.writeUInt32BE(Math.min(seeders, 0xffffffff), 16);
}

export function encodeScrapeReply(transactionId: number, entries: readonly ScrapeEntry[]): Buffer {
  const out = Buffer.allocUnsafe(8 + entries.length * SCRAPE_REPLY_ENTRY_LEN);
  out.writeUInt32BE(Action.scrape, 0);
  out.writeUInt32BE(transactionId >>> 0, 4);
  entries.forEach((e, i) => {
    const at = 8 + i * SCRAPE_REPLY_ENTRY_LEN;
    out.writeUInt32BE(Math.min(e.seeders, 0xffffffff), at);
    out.writeUInt32BE(Math.min(e.completed, 0xffffffff), at + 4);
    out.writeUInt32BE(Math.min(e.leechers, 0xffffffff), at + 8);
  });
  return out;
}

export function encodeErrorReply(transactionId: number, message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  const out = Buffer.allocUnsafe(8 + text.length);
  out.writeUInt32BE(Action.error, 0);
  out.writeUInt32BE(transactionId >>> 0, 4);
  text.copy(out, 8);
  return out;
}

// ---- requests (client side) ----

export function encodeConnectRequest(transactionId: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LEN);
  out.writeBigUInt64BE(PROTOCOL_ID, OFF_CONNECTION_ID);
  out.writeUInt32BE(Action.connect, OFF_ACTION);
  out.writeUInt32BE(transactionId >>> 0, OFF_TRANSACTION_ID);
  return out;
}

export type AnnounceFields = Omit<AnnounceRequest, 'action'>;

/**
 * The fields of a client that has just started, unless said otherwise: nothing transferred, 1000 bytes left,
 * the sender's own address, no key, the tracker's default number of peers (tests, tools, load generators).
 */
export const ANNOUNCE_DEFAULTS = {
  downloaded: 0n,
  left: 1000n,
  uploaded: 0n,
  event: 2,
  ip: 0,
  key: 0,
  numWant: -1,
} as const satisfies Partial<AnnounceFields>;

export function encodeAnnounceRequest(a: AnnounceFields): Buffer {
  const out = Buffer.alloc(ANNOUNCE_LEN);
  out.writeBigUInt64BE(a.connectionId, OFF_CONNECTION_ID);
  out.writeUInt32BE(Action.announce, OFF_ACTION);
  out.writeUInt32BE(a.transactionId >>> 0, OFF_TRANSACTION_ID);
  a.infoHash.copy(out, OFF_INFO_HASH, 0, HASH_LEN);
  a.peerId.copy(out, OFF_PEER_ID, 0, HASH_LEN);
  out.writeBigUInt64BE(a.downloaded, OFF_DOWNLOADED);
  out.writeBigUInt64BE(a.left, OFF_LEFT);
  out.writeBigUInt64BE(a.uploaded, OFF_UPLOADED);
  out.writeUInt32BE(a.event, OFF_EVENT);
  out.writeUInt32BE(a.ip >>> 0, OFF_IP);
  out.writeUInt32BE(a.key >>> 0, OFF_KEY);
  out.writeInt32BE(a.numWant, OFF_NUM_WANT);
  out.writeUInt16BE(a.port, OFF_PORT);
  return out;
}

export function encodeScrapeRequest(connectionId: bigint, transactionId: number, hashes: readonly Buffer[]): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LEN + hashes.length * HASH_LEN);
  out.writeBigUInt64BE(connectionId, OFF_CONNECTION_ID);
  out.writeUInt32BE(Action.scrape, OFF_ACTION);
  out.writeUInt32BE(transactionId >>> 0, OFF_TRANSACTION_ID);
  for (let i = 0; i < hashes.length; i++) hashes[i]!.copy(out, HEADER_LEN + i * HASH_LEN, 0, HASH_LEN);
  return out;
}
