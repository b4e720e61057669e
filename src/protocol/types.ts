/** Typed BEP 15 requests and replies. Hashes and peer IDs stay as 20-byte Buffers; u64 fields are bigint. */
import type { EventCode } from './constants.js';

export type ConnectRequest = { readonly action: 'connect'; readonly transactionId: number };

export type AnnounceRequest = {
  readonly action: 'announce';
  readonly connectionId: bigint;
  readonly transactionId: number;
  readonly infoHash: Buffer;
  readonly peerId: Buffer;
  readonly downloaded: bigint;
  readonly left: bigint;
  readonly uploaded: bigint;
  readonly event: EventCode;
  /** The `ip` field as sent (0 = sender's address); the tracker ignores it unless configured. */
  readonly ip: number;
  readonly key: number;
  readonly numWant: number;
  readonly port: number;
};

export type ScrapeRequest = {
  readonly action: 'scrape';
  readonly connectionId: bigint;
  readonly transactionId: number;
  readonly infoHashes: readonly Buffer[];
};

export type Request = ConnectRequest | AnnounceRequest | ScrapeRequest;

/**
 * Why a datagram could not be decoded. `reply` errors carry the transaction ID and become a BEP 15 error
 * reply; `drop` errors are too short or garbled to answer (replying would make us a reflector).
 */
export type DecodeError =
  | { readonly kind: 'reply'; readonly transactionId: number; readonly message: string }
  | { readonly kind: 'drop'; readonly reason: DecodeDrop };

/** Datagrams not worth an answer: too short to carry a transaction ID, or a connect without the magic. */
export type DecodeDrop = 'short-datagram' | 'no-magic';

export type Decoded = { readonly ok: true; readonly request: Request } | { readonly ok: false; readonly error: DecodeError };

export type AddressFamily = 4 | 6;

/** A UDP or TCP peer of this tracker: where a reply goes. */
export type Endpoint = { readonly address: string; readonly port: number; readonly family: AddressFamily };

/** One received UDP datagram. */
export type Datagram = { readonly data: Buffer; readonly from: Endpoint };

/** A peer as it appears in a compact list. `ip` is 4 or 16 raw bytes. */
export type CompactPeer = { readonly ip: Buffer; readonly port: number };

export type AnnounceReply = {
  readonly transactionId: number;
  readonly interval: number;
  readonly leechers: number;
  readonly seeders: number;
  /** Already-encoded compact peer list (6 or 18 bytes per peer). */
  readonly peers: Buffer;
};

export type ScrapeEntry = { readonly seeders: number; readonly completed: number; readonly leechers: number };
