/**
 * The data plane of one instance, as one function: datagram → UdpIngress → batching → Consensus → Repository →
 * reply. HTTP announces and the Master's own changes (expiry, registered torrents) join the same batches.
 * Control inputs (role, voters, votes and PREPAREs from the cluster, health) come in on `control$`; what the
 * cluster must hear (PREPARE, votes, COMMIT, ABORT) and what the instance must do (a datagram to send, an HTTP
 * body to hand over, a resync) come out. No sockets, no timers of its own: time comes from the injected
 * schedulers, so specs drive it in virtual time.
 */
import { concatMap, filter, from, map, merge, type Observable, of, type SchedulerLike, share } from 'rxjs';
import { type ConsensusInput, type ConsensusOutput, consensusActor } from '../../actors/consensus.js';
import { repositoryActor, type Repository, type RepositoryInput, type RepositoryOutput } from '../../actors/repository.js';
import type { Proposal } from '../../actors/types.js';
import { type IngressDeps, type IngressOutput, udpIngress } from '../../actors/udp-ingress.js';
import { batch } from '../../streams/batch.js';
import { REJECT_TEXT } from '../domain/reasons.js';
import { httpAnnounceBody, type HttpClientRef } from '../http/announce.js';
import { failureReply } from '../http/replies.js';
import type { Datagram, Endpoint } from '../protocol/types.js';
import { type UdpClient, udpAnnounceReply, udpErrorReply, udpScrapeReply } from '../udp/replies.js';

/** Who waits for a change: a UDP client (answered with a datagram) or an HTTP one (answered with a body). */
export type Client = UdpClient | HttpClientRef;
export type ClientProposal = Proposal<Client>;

/** Largest round; the rest waits for the next one. */
export const MAX_BATCH = 4096;
/** Proposals waiting beyond this are refused (a bounded queue: the client gets an error and retries). */
export const MAX_QUEUE = 65536;

export type DataPlaneDeps = Omit<IngressDeps, 'clock'> & {
  readonly self: number;
  /** Vote timeouts, and the batching window when `batchMs` > 0. */
  readonly scheduler: SchedulerLike;
  /**
   * Zero delay = the end of the current event-loop turn (streams/turn-scheduler.ts): with `batchMs` 0 a round
   * takes what one turn delivered. Defaults to `scheduler`.
   */
  readonly turn?: SchedulerLike;
  /** Wall time: connection-ID stamps, peers' last-seen times. */
  readonly clock: SchedulerLike;
  readonly repo: Repository;
  readonly intervalS: number;
  /**
   * Group commit: a round starts as soon as none is in flight; announces gather only while one is (in the
   * consensus queue) and within one event-loop turn. `batchMs` > 0 adds a fixed wait before a round starts.
   */
  readonly batchMs: number;
  readonly voteTimeoutMs: number;
  readonly clusterSize: number;
  /**
   * In a cluster: whether the broker confirmed the COMMIT of a round this instance led. Its clients are answered
   * only once it did (never while the COMMIT is only queued locally). Absent alone: answered at once.
   */
  readonly commitConfirmed?: (seq: number) => Promise<boolean>;
};

export type DataPlaneInputs = {
  readonly datagram$: Observable<Datagram>;
  /** HTTP announces, one at a time: they are batched with the UDP ones. */
  readonly httpProposal$: Observable<ClientProposal>;
  /** Changes the Master makes itself (expiry sweeps, registered torrents): proposed as they are, unbatched. */
  readonly own$: Observable<readonly ClientProposal[]>;
  readonly control$: Observable<ConsensusInput<ClientProposal>>;
};

type ClusterWork = Exclude<ConsensusOutput<ClientProposal>, { type: 'apply' | 'reject' }>;
export type DataPlaneOutput =
  | { readonly type: 'udp'; readonly to: Endpoint; readonly data: Buffer }
  | { readonly type: 'http'; readonly client: HttpClientRef; readonly body: Buffer }
  /** A round stored (both roles), after its clients were answered; `healthy` false when the mirror refused it. */
  | { readonly type: 'applied'; readonly seq: number; readonly size: number; readonly healthy: boolean }
  | ClusterWork;

export function dataPlane(inputs: DataPlaneInputs, deps: DataPlaneDeps): Observable<DataPlaneOutput> {
  const { scheduler } = deps;
  const ingress$ = udpIngress(inputs.datagram$, deps).pipe(share());
  const udpProposal$ = ingress$.pipe(
    filter((o): o is Extract<IngressOutput, { type: 'propose' }> => o.type === 'propose'),
    map((o): ClientProposal => o.proposal),
  );
  // Group commit: no wait when idle (a zero window closes at the end of the turn); while a round is in flight the
  // consensus queue gathers everything that arrives into the next round.
  const gather = deps.batchMs > 0 ? scheduler : (deps.turn ?? scheduler);
  const batched$ = merge(udpProposal$, inputs.httpProposal$).pipe(batch(deps.batchMs, MAX_BATCH, gather));
  const propose$ = merge(batched$, inputs.own$).pipe(map((items): ConsensusInput<ClientProposal> => ({ type: 'propose', items })));
  const consensus$ = consensusActor<ClientProposal>(merge(inputs.control$, propose$), {
    config: { self: deps.self, maxBatch: MAX_BATCH, maxQueue: MAX_QUEUE, voteTimeoutMs: deps.voteTimeoutMs, clusterSize: deps.clusterSize },
    scheduler: scheduler,
  }).pipe(share());
  const decided$ = consensus$.pipe(
    filter((o): o is Decided => o.type === 'apply' || o.type === 'reject'),
    concatMap((o) => afterConfirmation(o, deps.commitConfirmed)),
  );
  // Order matters: a round's COMMIT goes out before its clients are answered (consensus emits it first).
  return merge(
    consensus$.pipe(filter((o): o is ClusterWork => o.type !== 'apply' && o.type !== 'reject')),
    repositoryActor(decided$, { repo: deps.repo }).pipe(map((o) => answer(o, deps.intervalS))),
    ingress$.pipe(
      filter((o): o is Direct => o.type === 'reply' || o.type === 'scrape'),
      map((o) => direct(o, deps.repo)),
    ),
  );
}

type Decided = Extract<ConsensusOutput<ClientProposal>, { type: 'apply' | 'reject' }>;

/** A round this instance led waits for the broker's receipt of its COMMIT; everything after it keeps its order. */
function afterConfirmation(o: Decided, confirmed: DataPlaneDeps['commitConfirmed']): Observable<RepositoryInput<Client>> {
  if (o.type !== 'apply' || !o.lead || !confirmed) return of(o);
  return from(confirmed(o.seq)).pipe(map((ok) => (ok ? o : { ...o, confirmed: false })));
}

/** Each frontend encodes its own reply from the repository's outcome. */
function answer(o: RepositoryOutput<Client>, intervalS: number): DataPlaneOutput {
  if (o.type === 'stored') return { type: 'applied', seq: o.seq, size: o.size, healthy: o.healthy };
  const c = o.client;
  if (o.type === 'rejected') {
    const text = REJECT_TEXT[o.reason];
    return c.kind === 'http' ? { type: 'http', client: c, body: failureReply(text) } : { type: 'udp', ...udpErrorReply(c, text) };
  }
  if (c.kind === 'http') return { type: 'http', client: c, body: httpAnnounceBody(o.store, o.infoHash, c, intervalS) };
  return { type: 'udp', ...udpAnnounceReply(o.store, o.swarm, c, intervalS) };
}

/** What the ingress answers itself: connects, errors, and scrapes (read from memory, no round needed). */
type Direct = Extract<IngressOutput, { type: 'reply' | 'scrape' }>;
function direct(o: Direct, repo: Repository): DataPlaneOutput {
  if (o.type === 'scrape') return { type: 'udp', ...udpScrapeReply(repo.store, o.to, o.transactionId, o.infoHashes) };
  return { type: 'udp', to: o.to, data: o.data };
}
