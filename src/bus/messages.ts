/**
 * The one union of messages on the internal bus. `ClusterMessage`s cross the broker and are JSON-safe
 * (hex for bytes, decimal strings for u64); `LocalMessage`s stay in the process and may carry Buffers.
 * Every cluster message names its sender and the Master epoch it belongs to.
 */
import type { AddressFamily } from '../protocol/types.js';

export type Role = 'starting' | 'syncing' | 'electing' | 'master' | 'slave' | 'isolated' | 'stopped';

/** A change as it travels between instances. */
export type WireChange =
  | { k: 'a'; ih: string; pid: string; ip: string; port: number; up: string; down: string; left: string; ev: number; at: number }
  | { k: 'x'; before: number }
  | { k: 't'; ih: string; name: string | null; size: string | null; completed?: number };

type Envelope = { readonly from: number; readonly epoch: number };

export type ClusterMessage =
  | (Envelope & { type: 'keepalive'; role: Role; synced: boolean; nonce: string; applied: number; startedAt: number })
  | (Envelope & { type: 'election' })
  | (Envelope & { type: 'answer'; to: number })
  | (Envelope & { type: 'coordinator' })
  | (Envelope & { type: 'prepare'; seq: number; changes: WireChange[] })
  | (Envelope & { type: 'vote'; to: number; seq: number; ok: boolean; reason?: string })
  | (Envelope & { type: 'commit'; seq: number })
  | (Envelope & { type: 'abort'; seq: number })
  | (Envelope & { type: 'sync-request'; applied: number })
  | (Envelope & { type: 'snapshot'; to: number; seq: number; part: number; parts: number; key: string; changes: WireChange[] })
  | (Envelope & { type: 'duplicate-id'; nonce: string });

export type Endpoint = { readonly address: string; readonly port: number; readonly family: AddressFamily };

export type LocalMessage =
  | { type: 'reply'; to: Endpoint; data: Buffer }
  | { type: 'role'; role: Role; epoch: number; master: number | null };

export type BusMessage = ClusterMessage | LocalMessage;

export const CLUSTER_TYPES: ReadonlySet<string> = new Set([
  'keepalive', 'election', 'answer', 'coordinator', 'prepare', 'vote', 'commit', 'abort', 'sync-request', 'snapshot',
  'duplicate-id',
]);
