/** What actors hand each other inside one process. */
import type { Endpoint } from '../src/bus/messages.js';
import type { Change } from '../src/domain/types.js';
import type { HttpClientRef } from '../src/http/announce.js';

/** A UDP client: answered with a datagram. `kind` is optional so existing UDP refs need no change. */
export type UdpClientRef = {
  readonly kind?: 'udp';
  readonly to: Endpoint;
  readonly transactionId: number;
  readonly numWant: number;
  /** Requester's address bytes and port, to keep it out of its own peer list. */
  readonly ip: Buffer;
  readonly port: number;
  /** Peer list format: IPv4-mapped senders on a dual-stack socket count as IPv4. */
  readonly family: 4 | 6;
};

/** Who asked for a change and how to answer them once it is committed (UDP datagram, or an HTTP body). */
export type ClientRef = UdpClientRef | HttpClientRef;

/** A change plus, on the Master, the client waiting for it. Slaves get changes without clients. */
export type Proposal = { readonly change: Change; readonly client: ClientRef | null };

export type ScrapeQuery = { readonly to: Endpoint; readonly transactionId: number; readonly infoHashes: readonly Buffer[] };
