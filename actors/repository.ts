/**
 * Repository actor: owns the swarm read model and hands each committed batch's row effects to a mirror (the
 * SQLite edge, injected as a port). It knows no protocol: for every announce with a waiting client it yields the
 * swarm as that change left it, and the frontend that owns the client encodes its reply at once (synchronously,
 * before the next change of the batch is applied). It is the only writer of the read model and of the mirror.
 */
import { createHash } from 'node:crypto';
import { Observable } from 'rxjs';
import type { RejectReason } from '../src/domain/reasons.js';
import { applyChange, createStore, getSwarm, peersOf } from '../src/domain/swarm.js';
import { type ChunkReader, type ReadChunk, readChunk, type SnapshotCursor, snapshotCursor } from '../src/domain/snapshot-codec.js';
import { createEffectLog } from '../src/domain/row-effects.js';
import type { Swarm, SwarmStore } from '../src/domain/types.js';
import type { Proposal } from './types.js';

type Written = { ok: true } | { ok: false; error: string };

/**
 * Where committed row effects are persisted (the SQLite mirror); failures come back as values. `effects` is the
 * packed log of domain/row-effects.ts, valid only during the call (the mirror copies what it keeps).
 */
export type Mirror = {
  writeBatch(seq: number, effects: Buffer): Written;
  clear(): void;
};

export type RepositoryDeps = { readonly mirror: Mirror; readonly log: (line: string) => void };

export type Repository = {
  readonly store: SwarmStore;
  /** Apply one committed batch; `answered` sees each waiting client with its swarm as its change left it. */
  apply<C>(seq: number, items: readonly Proposal<C>[], answered?: (client: C, infoHash: Buffer, swarm: Swarm | undefined) => void): void;
  lastSeq(): number;
  /** Master: a walk over the live store for one state transfer; stale once `generation()` moves. */
  cursor(): SnapshotCursor;
  /** Moves whenever the store is replaced (an install, a clear): a walk of the old one must stop. */
  generation(): number;
  /** Joiner: empty everything, then take the chunks of a transfer whose walk began at the Master's commit `seq`. */
  beginInstall(): void;
  installChunk(seq: number, data: Buffer): ReadChunk;
  /**
   * The transfer is complete: this instance holds commit `seq`, and each round after it leaves alone the swarms
   * that were copied at a later commit (they hold its effect already).
   */
  finishInstall(seq: number): void;
  /** Order-independent digest of the read model, to compare replicas. */
  digest(): string;
  /** False after a failed mirror write: this instance then votes ERROR. */
  healthy(): boolean;
  clear(): void;
};

export function createRepository(deps: RepositoryDeps): Repository {
  let store = createStore();
  let seq = 0;
  let healthy = true;
  let generation = 0;
  /** After a transfer: each copied swarm's cut, until the last round at or below the latest cut is applied. */
  let cuts: Map<string, number> | null = null;
  let cutsUntil = 0;
  let reader: ChunkReader = { current: null };
  /** One log reused for every batch: no object per row effect. */
  const effects = createEffectLog();
  const replace = (): void => {
    store = createStore();
    generation++;
    cuts = null;
  };
  return {
    get store() {
      return store;
    },
    apply(batchSeq, items, answered) {
      effects.reset();
      const copied = cuts;
      const skip = copied && batchSeq <= cutsUntil ? (key: string) => (copied.get(key) ?? -1) >= batchSeq : undefined;
      if (copied && batchSeq >= cutsUntil) cuts = null;
      for (const { change, client } of items) {
        applyChange(store, change, effects, skip);
        if (client !== null && answered && change.kind === 'announce') answered(client, change.infoHash, getSwarm(store, change.infoHash));
      }
      seq = batchSeq;
      const written = deps.mirror.writeBatch(batchSeq, effects.bytes());
      if (!written.ok) {
        // Memory is ahead of the file now; vote ERROR until a resync rebuilds both.
        healthy = false;
        deps.log(`SQLite write failed at sequence ${batchSeq}: ${written.error}`);
      }
    },
    lastSeq: () => seq,
    cursor: () => snapshotCursor(store, () => seq),
    generation: () => generation,
    beginInstall() {
      replace();
      cuts = new Map();
      cutsUntil = 0;
      reader = { current: null };
      seq = 0;
      healthy = true;
      deps.mirror.clear();
    },
    installChunk(at, data) {
      const marks = cuts ?? new Map<string, number>();
      effects.reset();
      const read = readChunk(
        store,
        reader,
        data,
        (key, cut) => {
          marks.set(key, cut);
          if (cut > cutsUntil) cutsUntil = cut;
        },
        effects,
      );
      cuts = marks;
      if (!read.ok) return read;
      const written = deps.mirror.writeBatch(at, effects.bytes());
      if (!written.ok) healthy = false;
      return written.ok ? read : { ok: false, error: written.error };
    },
    finishInstall(at) {
      seq = at;
      if (cuts && cutsUntil <= at) cuts = null;
    },
    digest: () => digestOf(store),
    healthy: () => healthy,
    clear() {
      replace();
      seq = 0;
      deps.mirror.clear();
    },
  };
}

function digestOf(store: SwarmStore): string {
  const rows: string[] = [];
  for (const s of store.swarms.values()) {
    const ih = s.infoHash.toString('hex');
    rows.push(`t ${ih} ${s.completed} ${s.name ?? ''} ${s.size ?? ''}`);
    for (const p of peersOf(store, s)) {
      rows.push(
        `p ${ih} ${p.peerId.toString('hex')} ${p.ip.toString('hex')} ${p.port} ${p.uploaded} ${p.downloaded} ${p.left} ${p.lastSeen}`,
      );
    }
  }
  rows.sort();
  return createHash('sha256').update(rows.join('\n')).digest('hex');
}

export type RepositoryInput<C> =
  /**
   * `confirmed: false`: a round this instance led whose COMMIT the broker never confirmed. Its outcome is
   * unknown to the cluster but may be known to some Slaves: apply it (a resumed Master sends its COMMIT again, a
   * new Master commits what it staged), and tell its clients to retry rather than acknowledge them.
   */
  | { type: 'apply'; seq: number; items: readonly Proposal<C>[]; confirmed?: boolean }
  | { type: 'reject'; items: readonly Proposal<C>[]; reason: RejectReason };

/**
 * `announced` carries the live swarm: read it while handling the output (the next change may alter it).
 * `rejected`: a client whose change will not be stored.
 */
export type RepositoryOutput<C> =
  | { type: 'announced'; client: C; store: SwarmStore; infoHash: Buffer; swarm: Swarm | undefined }
  | { type: 'rejected'; client: C; reason: RejectReason }
  /** A batch is in memory and handed to the mirror (after its clients' outcomes). */
  | { type: 'stored'; seq: number; size: number; healthy: boolean };

/** The actor face: committed batches and rejections in, per-client outcomes and stored batches out. */
export function repositoryActor<C>(
  input$: Observable<RepositoryInput<C>>,
  deps: { readonly repo: Repository },
): Observable<RepositoryOutput<C>> {
  const { repo } = deps;
  return new Observable<RepositoryOutput<C>>((sub) =>
    input$.subscribe({
      next: (msg) => {
        if (msg.type === 'reject') {
          for (const { client } of msg.items) if (client !== null) sub.next({ type: 'rejected', client, reason: msg.reason });
          return;
        }
        if (msg.confirmed === false) {
          repo.apply(msg.seq, msg.items);
          for (const { client } of msg.items) if (client !== null) sub.next({ type: 'rejected', client, reason: 'failover' });
        } else {
          repo.apply(msg.seq, msg.items, (client, infoHash, swarm) =>
            sub.next({ type: 'announced', client, store: repo.store, infoHash, swarm }),
          );
        }
        sub.next({ type: 'stored', seq: msg.seq, size: msg.items.length, healthy: repo.healthy() });
      },
      error: (e) => sub.error(e),
      complete: () => sub.complete(),
    }),
  );
}
