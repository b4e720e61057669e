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
  | (Envelope & { type: 'sync-request'; applied: number })
  /** `key`: the connection-ID key in hex, only in a cluster without a secret. */
  | (Envelope & { type: 'snapshot'; to: number; seq: number; part: number; parts: number; key?: string; changes: WireChanges });

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
  'snapshot',
]);
