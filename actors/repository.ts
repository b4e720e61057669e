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
import type { Change, RowEffect, Swarm, SwarmStore } from '../src/domain/types.js';
import type { Proposal } from './types.js';

type Written = { ok: true } | { ok: false; error: string };

/** Where committed row effects are persisted (the SQLite mirror); failures come back as values. */
export type Mirror = {
  writeBatch(seq: number, effects: readonly RowEffect[]): Written;
  clear(): void;
};

export type RepositoryDeps = { readonly mirror: Mirror; readonly log: (line: string) => void };

export type Repository = {
  readonly store: SwarmStore;
  /** Apply one committed batch; `answered` sees each waiting client with its swarm as its change left it. */
  apply<C>(seq: number, items: readonly Proposal<C>[], answered?: (client: C, infoHash: Buffer, swarm: Swarm | undefined) => void): void;
  lastSeq(): number;
  /** The whole state as changes that rebuild it (state transfer). */
  snapshot(): Change[];
  /** Replace everything with a snapshot taken at `seq`. */
  install(seq: number, changes: readonly Change[]): Written;
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
  return {
    get store() {
      return store;
    },
    apply(batchSeq, items, answered) {
      const effects: RowEffect[] = [];
      for (const { change, client } of items) {
        applyChange(store, change, effects);
        if (client !== null && answered && change.kind === 'announce') answered(client, change.infoHash, getSwarm(store, change.infoHash));
      }
      seq = batchSeq;
      const written = deps.mirror.writeBatch(batchSeq, effects);
      if (!written.ok) {
        // Memory is ahead of the file now; vote ERROR until a resync rebuilds both.
        healthy = false;
        deps.log(`SQLite write failed at sequence ${batchSeq}: ${written.error}`);
      }
    },
    lastSeq: () => seq,
    snapshot: () => snapshotOf(store),
    install(at, changes) {
      store = createStore();
      deps.mirror.clear();
      const effects: RowEffect[] = [];
      for (const c of changes) applyChange(store, c, effects);
      seq = at;
      const written = deps.mirror.writeBatch(at, effects);
      healthy = written.ok;
      return written;
    },
    digest: () => digestOf(store),
    healthy: () => healthy,
    clear() {
      store = createStore();
      seq = 0;
      deps.mirror.clear();
    },
  };
}

function snapshotOf(store: SwarmStore): Change[] {
  const out: Change[] = [];
  for (const s of store.swarms.values()) {
    out.push({ kind: 'torrent', infoHash: s.infoHash, name: s.name, size: s.size, completed: s.completed });
    for (const p of peersOf(store, s)) {
      out.push({
        kind: 'announce',
        infoHash: s.infoHash,
        peerId: p.peerId,
        ip: p.ip,
        port: p.port,
        uploaded: p.uploaded,
        downloaded: p.downloaded,
        left: p.left,
        event: 0,
        at: p.lastSeen,
      });
    }
  }
  return out;
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
