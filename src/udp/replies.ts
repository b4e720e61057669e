/**
 * The UDP frontend's replies: what a committed announce, a scrape or a refusal becomes as a BEP 15 datagram.
 * The announce reply is read from the swarm as the client's own change left it, with the peers written straight
 * into the reply buffer (no per-peer objects on this path).
 */
import { effectiveNumWant, leechers, scrapeEntry, writePeers } from '../domain/swarm.js';
import type { Swarm, SwarmStore } from '../domain/types.js';
import { ANNOUNCE_REPLY_HEADER_LEN } from '../protocol/constants.js';
import { encodeErrorReply, encodeScrapeReply, writeAnnounceReplyHeader } from '../protocol/encode.js';
import type { Endpoint } from '../protocol/types.js';

/** A UDP client waiting for a committed announce or a scrape. */
export type UdpClient = {
  readonly kind: 'udp';
  readonly to: Endpoint;
  readonly transactionId: number;
  readonly numWant: number;
  /** Requester's address bytes and port, to keep it out of its own peer list. */
  readonly ip: Buffer;
  readonly port: number;
  /** Peer list format: IPv4-mapped senders on a dual-stack socket count as IPv4. */
  readonly family: 4 | 6;
};

export type UdpReply = { readonly to: Endpoint; readonly data: Buffer };

export function udpAnnounceReply(store: SwarmStore, s: Swarm | undefined, client: UdpClient, intervalS: number): UdpReply {
  const { family, transactionId } = client;
  const want = effectiveNumWant(client.numWant, family);
  const data = Buffer.allocUnsafe(ANNOUNCE_REPLY_HEADER_LEN + want * (family === 4 ? 6 : 18));
  const len = writePeers(store, s, family, client, want, transactionId, data, ANNOUNCE_REPLY_HEADER_LEN);
  writeAnnounceReplyHeader(data, transactionId, intervalS, s ? leechers(s) : 0, s ? s.seeders : 0);
  return { to: client.to, data: data.subarray(0, ANNOUNCE_REPLY_HEADER_LEN + len) };
}

export function udpScrapeReply(store: SwarmStore, to: Endpoint, transactionId: number, infoHashes: readonly Buffer[]): UdpReply {
  return {
    to,
    data: encodeScrapeReply(
      transactionId,
      infoHashes.map((h) => scrapeEntry(store, h)),
    ),
  };
}

export function udpErrorReply(client: { readonly to: Endpoint; readonly transactionId: number }, text: string): UdpReply {
  return { to: client.to, data: encodeErrorReply(client.transactionId, text) };
}
