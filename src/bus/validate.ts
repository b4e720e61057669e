/**
 * Checks a message that arrived from the broker before anything acts on it: known type, integer sender and
 * epoch, and the fields its type needs. Anything else is rejected (counted by the caller), never applied.
 */
import type { ClusterMessage } from './messages.js';

const ROLES = new Set(['starting', 'syncing', 'electing', 'master', 'slave', 'isolated', 'resuming', 'stopped']);
const int = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const str = (v: unknown): boolean => typeof v === 'string';
const transferId = (v: unknown): boolean => typeof v === 'string' && /^[0-9a-f]{16}$/.test(v);

const FIELDS: Record<ClusterMessage['type'], Record<string, (v: unknown) => boolean>> = {
  keepalive: { role: (v) => ROLES.has(v as string), synced: (v) => typeof v === 'boolean', nonce: str, applied: int, startedAt: int },
  election: {},
  answer: { to: int },
  coordinator: {},
  prepare: { seq: int, changes: str },
  vote: { to: int, seq: int, ok: (v) => typeof v === 'boolean', reason: (v) => v === undefined || typeof v === 'string' },
  commit: { seq: int },
  abort: { seq: int },
  'sync-request': { applied: int, transfer: transferId, tip: (v) => v === undefined || int(v) },
  'sync-ack': { to: int, transfer: transferId, next: int },
  transfer: {
    to: int,
    transfer: transferId,
    kind: (v) => v === 'snapshot' || v === 'log',
    seq: int,
    total: int,
    part: int,
    last: (v) => typeof v === 'boolean',
    key: (v) => v === undefined || (str(v) && /^[0-9a-f]{64}$/.test(v as string)),
    data: (v) => str(v) && (v as string).length % 4 === 0,
  },
};

export function parseClusterMessage(raw: unknown): ClusterMessage | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const o = raw as Record<string, unknown>;
  if (typeof o.type !== 'string' || !Object.hasOwn(FIELDS, o.type)) return null;
  if (!int(o.from) || (o.from as number) < 1 || !int(o.epoch)) return null;
  for (const [name, ok] of Object.entries(FIELDS[o.type as ClusterMessage['type']])) if (!ok(o[name])) return null;
  return o as unknown as ClusterMessage;
}
