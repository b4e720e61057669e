/**
 * Wires one tracker instance: UDP socket → UdpIngress → (batch) → Consensus → Repository → replies.
 * Everything with a clock takes the injected scheduler; the caller owns process concerns (flags, signals).
 */
import { filter, interval, map, merge, of, share, Subject, type SchedulerLike, type Subscription } from 'rxjs';
import { consensusActor, type ConsensusInput, type ConsensusOutput } from '../actors/consensus.js';
import { repositoryActor, createRepository, type Repository, type RepositoryInput } from '../actors/repository.js';
import type { Proposal } from '../actors/types.js';
import { udpIngress, type IngressOutput } from '../actors/udp-ingress.js';
import { batch } from '../streams/batch.js';
import { bindUdp, datagrams } from '../streams/udp-socket.js';
import type { Config } from './config.js';
import type { ConnectionIdKey } from './protocol/connection-id.js';
import { openSqliteStore, type SqliteStore } from './storage/sqlite-store.js';

export type TrackerDeps = {
  /** Drives batching windows and vote timeouts. */
  readonly scheduler: SchedulerLike;
  /** Wall time: connection-ID stamps, peers' last-seen times and the expiry sweep. Usually the same scheduler. */
  readonly clock: SchedulerLike;
  readonly key: ConnectionIdKey;
  readonly log: (line: string) => void;
};

export type Counters = { received: number; replied: number; dropped: number; committed: number; rejected: number };

export type Tracker = {
  readonly address: string;
  readonly port: number;
  readonly repo: Repository;
  readonly sqlite: SqliteStore;
  readonly counters: Counters;
  /** Stop serving, empty the repository (memory and SQLite) and release every resource. */
  stop(): Promise<void>;
};

export type TrackerConfig = Pick<Config, 'id' | 'host' | 'port' | 'db' | 'intervalS' | 'peerTtlS' | 'batchMs'>;

const MAX_BATCH = 4096;
const MAX_QUEUE = 65536;

export async function startTracker(cfg: TrackerConfig, deps: TrackerDeps): Promise<{ ok: true; tracker: Tracker } | { ok: false; error: string }> {
  const opened = openSqliteStore(cfg.db);
  if (!opened.ok) return opened;
  const sqlite = opened.store;
  sqlite.clear(); // a crashed earlier run may have left rows behind: start from an empty repository

  const bound = await bindUdp({ host: cfg.host, port: cfg.port });
  if (!bound.ok) {
    sqlite.close();
    return bound;
  }
  const { socket } = bound.bound;
  const { scheduler, clock } = deps;
  const counters: Counters = { received: 0, replied: 0, dropped: 0, committed: 0, rejected: 0 };
  const repo = createRepository({ sqlite, intervalS: cfg.intervalS, log: deps.log });

  const ingress$ = udpIngress(
    datagrams(socket, (e) => deps.log(`UDP socket error: ${e.message}`)),
    { clock, key: () => deps.key, serving: () => true },
  ).pipe(share());
  const proposals$ = ingress$.pipe(
    filter((o): o is Extract<IngressOutput, { type: 'propose' }> => o.type === 'propose'),
    map((o) => o.proposal),
    batch(cfg.batchMs, MAX_BATCH, scheduler),
  );

  // Expiry is a committed change like any other, so every replica drops the same peers at the same point.
  const sweepMs = Math.max(1000, Math.min(cfg.peerTtlS * 250, 30_000));
  const expire$ = interval(sweepMs, clock).pipe(
    map((): Proposal[] => [{ change: { kind: 'expire', before: clock.now() - cfg.peerTtlS * 1000 }, client: null }]),
  );

  const consensusIn$ = merge(
    of<ConsensusInput<Proposal>[]>({ type: 'members', members: [cfg.id] }, { type: 'role', role: 'master', epoch: 1 }),
    merge(proposals$, expire$).pipe(map((items): ConsensusInput<Proposal> => ({ type: 'propose', items }))),
  );
  const consensus$ = consensusActor<Proposal>(
    { self: cfg.id, maxBatch: MAX_BATCH, maxQueue: MAX_QUEUE, voteTimeoutMs: 500 }, consensusIn$, scheduler,
  ).pipe(share());

  const repoIn$ = merge(
    consensus$.pipe(
      filter((o): o is Extract<ConsensusOutput<Proposal>, { type: 'apply' | 'reject' }> => o.type === 'apply' || o.type === 'reject'),
      map((o): RepositoryInput => (o.type === 'apply' ? { type: 'apply', seq: o.seq, items: o.items } : o)),
    ),
    ingress$.pipe(
      filter((o): o is Extract<IngressOutput, { type: 'scrape' }> => o.type === 'scrape'),
      map((o): RepositoryInput => ({ type: 'scrape', query: o.query })),
    ),
  );

  const subs: Subscription[] = [];
  const replies$ = merge(
    ingress$.pipe(filter((o): o is Extract<IngressOutput, { type: 'reply' }> => o.type === 'reply')),
    repositoryActor(repoIn$, repo),
  );
  subs.push(replies$.subscribe((r) => {
    if (r.type !== 'reply') return;
    counters.replied++;
    socket.send(r.data, r.to.port, r.to.address);
  }));
  subs.push(ingress$.subscribe((o) => {
    counters.received++;
    if (o.type === 'dropped') counters.dropped++;
  }));
  subs.push(consensus$.subscribe((o) => {
    if (o.type === 'apply') counters.committed += o.items.length;
    if (o.type === 'reject') counters.rejected += o.items.length;
  }));

  const stopped = new Subject<void>();
  let stopping = false;
  const tracker: Tracker = {
    address: bound.bound.address,
    port: bound.bound.port,
    repo,
    sqlite,
    counters,
    async stop() {
      if (stopping) return;
      stopping = true;
      for (const s of subs) s.unsubscribe();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      repo.clear();
      sqlite.close();
      stopped.next();
    },
  };
  return { ok: true, tracker };
}
