/**
 * What an instance does with each plane's events: control events (role, live set, publish), data-plane outputs
 * (send a datagram, hand over an HTTP body, publish a round's messages), cluster messages from the inbox, and
 * the broker connection coming and going. They share one context, made in instance.ts.
 */
import type { BehaviorSubject, Subject, Subscription } from 'rxjs';
import type { ConsensusInput } from '../../actors/consensus.js';
import type { LiveEntry } from '../../actors/heartbeat.js';
import type { Repository } from '../../actors/repository.js';
import type { IngressOutput } from '../../actors/udp-ingress.js';
import type { SqliteStore } from '../../streams/sqlite/sqlite-store.js';
import type { Signer } from '../bus/auth.js';
import type { Freshness } from '../bus/freshness.js';
import type { ClusterMessage } from '../bus/messages.js';
import { decodePacked, packChanges } from '../bus/wire.js';
import type { Config } from '../config/index.js';
import { resyncText, voteErrorText } from '../domain/reasons.js';
import type { ClusterTiming } from '../domain/timing.js';
import type { DropReason, Metrics } from '../metrics.js';
import { udpRequestAction } from '../metrics.js';
import type { RateLimiter } from '../policy/rate-limit.js';
import { Action } from '../protocol/constants.js';
import type { ConnectionIdCache, ConnectionIdKey } from '../protocol/connection-id.js';
import type { Datagram } from '../protocol/types.js';
import type { LoadedTorrent } from '../torrent/load-dir.js';
import { type RoundMessage, routeBulk, routeInbound } from './cluster-inbox.js';
import type { ControlEvent, ControlPlane, RoleInfo } from './control-plane.js';
import type { ClientProposal, DataPlaneOutput } from './data-plane.js';
import type { HttpHolder } from './http-holder.js';
import type { ServiceAddress } from './service-address.js';
import { publish } from './publish.js';
import type { RoundLog } from './round-log.js';
import type { StateSync } from './state-sync.js';
import type { TransferSenders } from './transfer-sender.js';
import { noteApplied, notePrepared, receivePart, requestSync, serveSync } from './transfers.js';
import type { TrackerDeps } from './tracker.js';
import type { Transport } from './transport.js';

export type Ctx = {
  readonly cfg: Config;
  readonly deps: TrackerDeps;
  readonly log: (line: string) => void;
  readonly clustered: boolean;
  readonly timing: ClusterTiming;
  readonly repo: Repository;
  readonly sqlite: SqliteStore;
  readonly metrics: Metrics;
  readonly signer: Signer;
  /** With a secret: the last counter heard per sender incarnation (replays are refused). */
  readonly freshness: Freshness | undefined;
  readonly transport: Transport;
  readonly role$: BehaviorSubject<RoleInfo>;
  readonly live$: BehaviorSubject<readonly LiveEntry[]>;
  /** Inputs of the Consensus actor from outside the data plane: role, voters, health, the cluster's rounds. */
  readonly consensus: Subject<ConsensusInput<ClientProposal>>;
  readonly datagram$: Subject<Datagram>;
  readonly httpProposal$: Subject<ClientProposal>;
  readonly torrents$: Subject<readonly ClientProposal[]>;
  readonly registered: readonly LoadedTorrent[];
  readonly idCache: ConnectionIdCache;
  readonly sync: StateSync;
  /** The last committed rounds, for catch-up (clustered only). */
  readonly roundLog: RoundLog;
  /** Rounds prepared and not yet applied, as their PREPARE carried them: logged once applied. */
  readonly pendingRounds: Map<number, { readonly epoch: number; readonly changes: Buffer }>;
  /** Master: state transfers under way. */
  readonly senders: TransferSenders;
  /** Master: when each round in flight was prepared (scheduler time), for the commit latency. */
  readonly prepared: Map<number, number>;
  /** Master: the broker's confirmation of each COMMIT sent, until the data plane takes it. */
  readonly commits: Map<number, Promise<boolean>>;
  readonly state: {
    key: ConnectionIdKey;
    applied: number;
    synced: boolean;
    cut: boolean;
    stopping: boolean;
    everConnected: boolean;
    /** Transfer parts installed in memory whose mirror write is not done yet. */
    mirrorBacklog: number;
    /** The SQLite file refuses writes (retried until it takes them): changes are refused meanwhile. */
    mirrorFailing: boolean;
  };
  readonly subs: Subscription[];
  readonly limiter: RateLimiter | undefined;
  readonly control: ControlPlane;
  readonly service: ServiceAddress;
  http: HttpHolder | null;
  readonly fatalPromise: Promise<{ code: number; reason: string }>;
  /** Stop the process with this exit code; logs the reason as an `error:` line. */
  fatal(code: number, reason: string): void;
};

/** What this instance tells the others in its keepalives. */
const status = (ctx: Ctx): void => {
  const { role, epoch } = ctx.role$.value;
  ctx.control.to.heartbeat({ type: 'status', status: { role, synced: ctx.state.synced, epoch, applied: ctx.state.applied } });
};

/** The broker's confirmation of a round's COMMIT, handed over once (a COMMIT never sent counts as unconfirmed). */
export function commitConfirmed(seq: number, ctx: Ctx): Promise<boolean> {
  const confirmed = ctx.commits.get(seq) ?? Promise.resolve(false);
  ctx.commits.delete(seq);
  return confirmed;
}

export const dropReason = (ctx: Ctx): DropReason => (ctx.role$.value.role === 'electing' ? 'election' : 'not_serving');

export function handleControl(e: ControlEvent, ctx: Ctx): void {
  switch (e.type) {
    case 'publish':
      publish(ctx, e.message);
      return;
    case 'live': {
      ctx.live$.next(e.live);
      if (!e.changed) return;
      ctx.metrics.liveInstances.set(1 + e.live.filter((x) => x.id !== ctx.cfg.id).length);
      const voters = e.live.filter((x) => x.synced && (x.role === 'slave' || x.role === 'master')).map((x) => x.id);
      ctx.consensus.next({ type: 'members', members: [ctx.cfg.id, ...voters] });
      return;
    }
    case 'sync-request':
      requestSync(e.to, e.epoch, ctx);
      return;
    case 'fatal':
      ctx.fatal(e.code, e.reason);
      return;
    case 'role':
      changeRole(e.role, ctx);
      return;
  }
}

function changeRole(next: RoleInfo, ctx: Ctx): void {
  const prev = ctx.role$.value;
  const { metrics, state } = ctx;
  ctx.role$.next(next);
  metrics.epoch.set(next.epoch);
  if (next.epoch > prev.epoch) metrics.elections.inc(); // a new epoch is a finished election (won or seen)
  if (next.role !== 'master') {
    ctx.prepared.clear();
    ctx.senders.stopAll();
  }
  if (next.role === 'master') state.synced = true;
  // A newcomer holds nothing yet; an instance cut off or resuming keeps what it holds (a gap is found by sequence).
  else if (ctx.clustered && (next.role === 'syncing' || next.role === 'starting')) state.synced = false;
  if (prev.role !== next.role || prev.epoch !== next.epoch || prev.master !== next.master) {
    ctx.log(`role ${next.role} (epoch ${next.epoch}${next.master !== null ? `, master ${next.master}` : ''})`);
  }
  const consensusRole = next.role === 'master' ? 'master' : next.role === 'slave' ? 'slave' : 'off';
  ctx.consensus.next({ type: 'role', role: consensusRole, epoch: next.epoch, master: next.master });
  if (next.role === 'master' && (prev.role !== 'master' || prev.epoch !== next.epoch)) proposeTorrents(ctx);
  const resumed = prev.role === 'resuming' && next.role === 'master' && next.epoch === prev.epoch;
  void ctx.service.hold(next.role === 'master', !resumed);
  void ctx.http?.hold(next.role === 'master');
  status(ctx);
}

/** Registered .torrent files: committed like any change whenever this instance becomes Master. */
function proposeTorrents(ctx: Ctx): void {
  const items: ClientProposal[] = ctx.registered
    .filter((t) => ctx.repo.store.swarms.get(t.infoHash.toString('latin1'))?.name !== t.name)
    .map((t) => ({ change: { kind: 'torrent', infoHash: t.infoHash, name: t.name, size: t.size }, client: null }));
  if (items.length > 0) ctx.torrents$.next(items);
}

export function handleData(o: DataPlaneOutput, ctx: Ctx): void {
  const { cfg, metrics } = ctx;
  const from = cfg.id;
  switch (o.type) {
    case 'udp': {
      const socket = ctx.service.current();
      if (ctx.state.cut || !socket) {
        metrics.countDropped('udp', dropReason(ctx));
        return;
      }
      socket.send(o.data, o.to.port, o.to.address);
      return;
    }
    case 'http':
      o.client.settle(o.body);
      return;
    case 'applied':
      noteApplied(o.seq, ctx);
      ctx.state.applied = o.seq;
      if (!o.healthy) ctx.consensus.next({ type: 'health', ok: false });
      ctx.control.to.election({ type: 'progress', applied: o.seq });
      status(ctx);
      return;
    case 'send-prepare':
      ctx.prepared.set(o.seq, ctx.deps.scheduler.now());
      metrics.batchSize.observe(o.items.length);
      // Alone there is nobody to tell: skip serialising the batch.
      if (ctx.clustered) {
        const packed = packChanges(o.items.map((p) => p.change));
        notePrepared(o.seq, o.epoch, packed, ctx);
        publish(ctx, { type: 'prepare', from, epoch: o.epoch, seq: o.seq, changes: packed.toString('base64') });
      }
      return;
    case 'send-vote':
      publish(ctx, {
        type: 'vote',
        from,
        epoch: o.epoch,
        to: o.to,
        seq: o.seq,
        ok: o.ok,
        ...(o.error ? { reason: voteErrorText(o.error) } : {}),
      });
      return;
    case 'send-commit': {
      const commit: ClusterMessage = { type: 'commit', from, epoch: o.epoch, seq: o.seq };
      if (o.again) {
        publish(ctx, commit);
        return;
      }
      // Its clients are answered once the broker confirms it (data plane: commitConfirmed). Alone there is no
      // broker and nobody takes the confirmation: keeping it would hold one promise per round for good.
      if (ctx.clustered)
        ctx.commits.set(o.seq, ctx.state.cut ? Promise.resolve(false) : ctx.transport.publishConfirmed(ctx.signer.sign(commit)));
      const at = ctx.prepared.get(o.seq);
      ctx.prepared.delete(o.seq);
      metrics.consensusRounds.inc({ outcome: 'committed' });
      if (at !== undefined) metrics.observeCommit((ctx.deps.scheduler.now() - at) / 1000);
      return;
    }
    case 'send-abort':
      publish(ctx, { type: 'abort', from, epoch: o.epoch, seq: o.seq });
      ctx.prepared.delete(o.seq);
      metrics.consensusRounds.inc({ outcome: 'aborted' });
      return;
    case 'resync':
      ctx.log(`resynchronising: ${resyncText(o.reason)}`);
      ctx.control.to.election({ type: 'resync' });
      return;
  }
}

export function handleInbound(raw: unknown, ctx: Ctx): void {
  if (ctx.state.cut) return;
  const r = routeInbound(raw, ctx.cfg.id, ctx.signer, ctx.deps.scheduler.now(), ctx.freshness);
  switch (r.to) {
    case 'rejected':
      ctx.metrics.countClusterReject(r.reason);
      return;
    case 'ignored':
      return;
    case 'heartbeat':
      ctx.control.to.heartbeat(r.input);
      return;
    case 'election':
      ctx.control.to.election(r.input);
      return;
    case 'round':
      if (!ctx.sync.hold(r.message)) toConsensus(r.message, ctx);
      return;
    case 'vote': {
      const m = r.message;
      ctx.consensus.next({ type: 'vote', from: m.from, epoch: m.epoch, seq: m.seq, ok: m.ok });
      return;
    }
    case 'sync-request':
      serveSync(r.message, ctx);
      return;
    case 'sync-ack':
      ctx.senders.ack(r.message.from, r.message.transfer, r.message.next);
      return;
  }
}

/** What arrives on this instance's transfer queue. */
export function handleBulk(raw: unknown, ctx: Ctx): void {
  if (ctx.state.cut) return;
  const r = routeBulk(raw, ctx.cfg.id, ctx.signer);
  if (r.to === 'rejected') ctx.metrics.countClusterReject(r.reason);
  if (r.to === 'transfer') receivePart(r.message, ctx, (m) => toConsensus(m, ctx));
}

function toConsensus(m: RoundMessage, ctx: Ctx): void {
  if (m.type !== 'prepare') {
    ctx.consensus.next({ type: m.type, from: m.from, epoch: m.epoch, seq: m.seq });
    return;
  }
  const decoded = decodePacked(m.changes);
  if (!decoded) {
    ctx.metrics.countClusterReject('bad-changes');
    return;
  }
  if (m.from === ctx.role$.value.master) notePrepared(m.seq, m.epoch, decoded.packed, ctx);
  const items = decoded.changes.map((change): ClientProposal => ({ change, client: null }));
  ctx.consensus.next({ type: 'prepare', from: m.from, epoch: m.epoch, seq: m.seq, items });
}

/**
 * The first connection starts the instance. A lost broker suspends it (it stops answering at once: it cannot know
 * whether it is still Master); when a broker is back (the same or the next of the list) it resumes its former
 * role if nothing else changed meanwhile (actors/election.ts), without a newcomer's discovery and state transfer.
 */
export function onConnected(up: boolean, ctx: Ctx): void {
  const { state, control, log } = ctx;
  if (state.cut) return;
  if (!state.everConnected) {
    if (!up) return;
    state.everConnected = true;
    control.to.election({ type: 'start' });
    return;
  }
  log(up ? 'broker connection back: resuming' : 'broker connection lost: suspended, not answering peers');
  control.to.heartbeat({ type: 'mute', muted: !up });
  control.to.election({ type: up ? 'resume' : 'suspend' });
}

/** Per-datagram counts by action and by what became of it (plain counters: no allocation on this path). */
export function countUdp(d: Datagram, o: IngressOutput, ctx: Ctx): void {
  const { metrics } = ctx;
  const action = udpRequestAction(d.data);
  metrics.countRequest('udp', action);
  if (o.type === 'dropped') {
    if (o.reason === 'not-serving') metrics.countDropped('udp', dropReason(ctx));
    else metrics.countError('udp', action);
  } else if (o.type === 'reply' && o.data.length >= 4 && o.data.readUInt32BE(0) === Action.error) {
    metrics.countError('udp', action);
  }
}
