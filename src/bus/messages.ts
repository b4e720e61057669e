/**
 * The one union of messages on the internal bus. `ClusterMessage`s cross the broker as JSON (changes packed
 * into one base64 string, see wire.ts); `LocalMessage`s stay in the process and may carry Buffers.
 * Every cluster message names its sender and the Master epoch it belongs to.
 */
import type { Endpoint } from '../protocol/types.js';

export type { Endpoint };

export type Role = 'starting' | 'syncing' | 'electing' | 'master' | 'slave' | 'isolated' | 'resuming' | 'stopped';

/** Changes as they travel between instances: packed records in base64 (encodeChanges in wire.ts). */
export type WireChanges = string;

type Envelope = { readonly from: number; readonly epoch: number };

export type ClusterMessage =
  | (Envelope & { type: 'keepalive'; role: Role; synced: boolean; nonce: string; applied: number; startedAt: number })
  | (Envelope & { type: 'election' })
  | (Envelope & { type: 'answer'; to: number })
  | (Envelope & { type: 'coordinator' })
  | (Envelope & { type: 'prepare'; seq: number; changes: WireChanges })
  | (Envelope & { type: 'vote'; to: number; seq: number; ok: boolean; reason?: string })
  | (Envelope & { type: 'commit'; seq: number })
  | (Envelope & { type: 'abort'; seq: number })
  /**
   * `transfer`: 16 hex digits the requester chose for this transfer (chunks of any other are not for it).
   * `tip`: the epoch of the requester's round `applied`, when it knows it: the Master may then send only the
   * rounds after it from its log.
   */
  | (Envelope & { type: 'sync-request'; applied: number; transfer: string; tip?: number })
  /** The requester holds every part before `next` (stored, the SQLite mirror included): the sender's window. */
  | (Envelope & { type: 'sync-ack'; to: number; transfer: string; next: number })
  /**
   * One part of a transfer, on the requester's own queue (node/transfer-sender.ts). `snapshot`: entries of
   * domain/snapshot-codec.ts, the walk having begun at commit `seq`; `log`: committed rounds after `seq`
   * (round-log.ts). `key`: the connection-ID key in hex, only in a cluster without a secret.
   */
  | (Envelope & {
      type: 'transfer';
      to: number;
      transfer: string;
      kind: 'snapshot' | 'log';
      seq: number;
      /** Records the whole transfer is expected to hold (a snapshot's peers when its walk began): for progress. */
      total: number;
      part: number;
      last: boolean;
      key?: string;
      data: string;
    });

export type LocalMessage =
  | { type: 'reply'; to: Endpoint; data: Buffer }
  | { type: 'role'; role: Role; epoch: number; master: number | null };

export type BusMessage = ClusterMessage | LocalMessage;

export const CLUSTER_TYPES: ReadonlySet<string> = new Set([
  'keepalive',
  'election',
  'answer',
  'coordinator',
  'prepare',
  'vote',
  'commit',
  'abort',
  'sync-request',
  'sync-ack',
  'transfer',
]);
