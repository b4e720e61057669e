/** The swarm read model and the changes that move it. Changes are the unit of consensus and of persistence. */
import type { EventCode } from '../protocol/constants.js';
import type { PeerPool, PeerTable } from './peer-table.js';

export type PeerState = {
  peerId: Buffer;
  /** 4 or 16 raw address bytes. */
  ip: Buffer;
  port: number;
  uploaded: bigint;
  downloaded: bigint;
  left: bigint;
  /** Master's clock (ms, whole seconds) when the change was made: every replica stores the same value. */
  lastSeen: number;
};

export type Swarm = {
  /** 20 raw bytes; made on demand from `key` (a Buffer per swarm would cost ~100 bytes each). */
  readonly infoHash: Buffer;
  /** The info hash as a latin1 string: the store's map key, shared, not copied. */
  readonly key: string;
  /** Unique in its store, never reused: the swarm's row in the mirror. */
  readonly id: number;
  /** Packed peer records per address family (IPv6 table created on first IPv6 peer). */
  readonly v4: PeerTable;
  v6: PeerTable | null;
  seeders: number;
  completed: number;
  /** From a registered .torrent, when known. */
  readonly name: string | null;
  readonly size: bigint | null;
  /** Set both from a registered .torrent. */
  describe(name: string | null, size: bigint | null): void;
};

export type SwarmStore = {
  readonly swarms: Map<string, Swarm>;
  /** Record pools shared by every swarm, one per address family. */
  readonly v4: PeerPool;
  readonly v6: PeerPool;
  /** The next swarm's id. */
  nextId: number;
};

/** One peer announce, as decided by the Master (address is the sender's, time is the Master's clock). */
export type AnnounceChange = {
  readonly kind: 'announce';
  readonly infoHash: Buffer;
  readonly peerId: Buffer;
  readonly ip: Buffer;
  readonly port: number;
  readonly uploaded: bigint;
  readonly downloaded: bigint;
  readonly left: bigint;
  readonly event: EventCode;
  readonly at: number;
};

/** Drop peers not seen since `before` (ms), and empty swarms nobody registered. */
export type ExpireChange = { readonly kind: 'expire'; readonly before: number };

/** Register content metadata from a .torrent file; a snapshot also restores the completed count. */
export type TorrentChange = {
  readonly kind: 'torrent';
  readonly infoHash: Buffer;
  readonly name: string | null;
  readonly size: bigint | null;
  readonly completed?: number;
};

export type Change = AnnounceChange | ExpireChange | TorrentChange;
