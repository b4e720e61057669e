/**
 * State transfer: the Master's whole repository (as changes that rebuild it), its last commit number and, only in
 * a cluster without a secret, the connection-ID key, cut into chunks small enough for one broker message each; and
 * the joining side's assembler, which accepts the chunks of one transfer in any order and refuses anything
 * inconsistent. With a secret every instance derives the keys itself (protocol/connection-id.ts) and no chunk
 * carries one: nothing secret crosses the broker.
 */
import type { ClusterMessage } from '../src/bus/messages.js';
import { decodeChanges, encodeChanges } from '../src/bus/wire.js';
import type { Change } from '../src/domain/types.js';

export const SNAPSHOT_CHUNK = 2000;

type Snapshot = Extract<ClusterMessage, { type: 'snapshot' }>;

export function snapshotMessages(
  from: number,
  epoch: number,
  to: number,
  seq: number,
  /** The fixed key to hand over (a cluster without a secret), or null: the chunks carry none. */
  key: Buffer | null,
  changes: readonly Change[],
): Snapshot[] {
  const parts = Math.max(1, Math.ceil(changes.length / SNAPSHOT_CHUNK));
  const out: Snapshot[] = [];
  for (let part = 0; part < parts; part++) {
    out.push({
      type: 'snapshot',
      from,
      epoch,
      to,
      seq,
      part,
      parts,
      ...(key ? { key: key.toString('hex') } : {}),
      changes: encodeChanges(changes.slice(part * SNAPSHOT_CHUNK, (part + 1) * SNAPSHOT_CHUNK)),
    });
  }
  return out;
}

/** `key`: the sender's fixed key when the chunks carried one (all of them, or none). */
export type Assembled = { readonly seq: number; readonly key: Buffer | null; readonly changes: Change[] };

export function createAssembler(): { reset(): void; add(m: Snapshot): 'bad' | 'partial' | Assembled } {
  let current: { from: number; seq: number; parts: number; got: Map<number, Change[]> } | null = null;
  return {
    reset() {
      current = null;
    },
    add(m) {
      if (!Number.isInteger(m.part) || !Number.isInteger(m.parts) || m.parts < 1 || m.part < 0 || m.part >= m.parts) return 'bad';
      if (m.key !== undefined && !/^[0-9a-f]{64}$/.test(m.key)) return 'bad';
      const changes = decodeChanges(m.changes);
      if (!changes) return 'bad';
      // A newer transfer (another Master, a later request) replaces an unfinished one.
      if (!current || current.from !== m.from || current.seq !== m.seq || current.parts !== m.parts) {
        current = { from: m.from, seq: m.seq, parts: m.parts, got: new Map() };
      }
      current.got.set(m.part, changes);
      if (current.got.size < current.parts) return 'partial';
      const all: Change[] = [];
      for (let i = 0; i < current.parts; i++) all.push(...current.got.get(i)!);
      const done = { seq: current.seq, key: m.key === undefined ? null : Buffer.from(m.key, 'hex'), changes: all };
      current = null;
      return done;
    },
  };
}
