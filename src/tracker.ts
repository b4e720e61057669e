/**
 * Wires one tracker instance. Data path: UDP → UdpIngress → (batch) → Consensus → Repository → reply.
 * Control path: Heartbeat (live set) → Election (role, epoch) → Consensus (voters) and the ingress gate.
 * Cluster messages travel over a Transport: the in-process one (a lone instance) or the ActiveMQ bridge.
 * Everything with a clock takes an injected scheduler; the caller owns process concerns (flags, signals).
 */
import { randomBytes } from 'node:crypto';
import type dgram from 'node:dgram';
import {
  BehaviorSubject, distinctUntilChanged, filter, firstValueFrom, interval, timer, map, merge, NEVER, of, share, Subject, type Observable, type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { consensusActor, type ConsensusInput } from '../actors/consensus.js';
import { electionActor, type ElectionInput } from '../actors/election.js';
import { heartbeatActor, type HeartbeatInput, type LiveEntry } from '../actors/heartbeat.js';
import { createRepository, repositoryActor, type Repository, type RepositoryInput } from '../actors/repository.js';
import { snapshotMessages, createAssembler } from '../actors/state-transfer.js';
import type { Proposal } from '../actors/types.js';
import { udpIngress, type Datagram, type IngressOutput } from '../actors/udp-ingress.js';
import { batch } from '../streams/batch.js';
import { bindUdp, datagrams } from '../streams/udp-socket.js';
import type { ClusterMessage, LocalMessage, Role } from './bus/messages.js';
import { createSigner, openSigner } from './bus/auth.js';
import { connectBroker } from './bus/stomp-bridge.js';
import { parseClusterMessage } from './bus/validate.js';
import { decodeChanges, encodeChanges } from './bus/wire.js';
import { routing } from './bus/routing.js';
import type { Config } from './config.js';
import { createConnectionIdCache, type ConnectionIdKey } from './protocol/connection-id.js';
import type { SqliteStore } from './storage/sqlite-store.js';
import { openWorkerStore } from './storage/worker-store.js';
import { loadTorrentDir } from './torrent/load-dir.js';
import type { HashPolicy } from './policy/hash-list.js';
import { createRateLimiter } from './policy/rate-limit.js';
import { countPeers } from './domain/swarm.js';
import { clusterTiming, DOWN_AFTER_INTERVALS } from './domain/timing.js';
import { handleHttpRequest, NOT_SERVING } from './http/ingress.js';
import type { HttpTrackerRequest } from './http/query.js';
import { failureReply } from './http/replies.js';
import { startHttpTracker, type HttpFrom, type HttpRequestEvent, type HttpTrackerServer } from './http/server.js';
import { createHttpWaiters } from './http/waiters.js';
import { createMetrics, udpRequestAction, type DropReason, type Metrics } from './metrics.js';
import { Action } from './protocol/constants.js';

export type TrackerDeps = {
  /** Drives batching windows, keepalives and every protocol timeout. */
  readonly scheduler: SchedulerLike;
  /** Wall time: connection-ID stamps, peers' last-seen times and the expiry sweep. Usually the same scheduler. */
  readonly clock: SchedulerLike;
  /** This instance's connection-ID key; a Slave adopts the Master's during state transfer. */
  readonly key: ConnectionIdKey;
  /** Shared secret of the cluster: every bus message is authenticated with it (absent: unauthenticated). */
  readonly secret?: Buffer;
  readonly brokerLogin?: { readonly login: string; readonly passcode: string };
  /** Current info-hash allow/deny lists (the caller reloads them). */
  readonly hashes?: () => HashPolicy;
  readonly log: (line: string) => void;
};

export type Counters = {
  received: number; replied: number; dropped: number; committed: number; rejected: number;
  /** Cluster messages refused at the edge: malformed, unknown type, or not for us. */
  badClusterMessages: number;
  /** Cluster messages without a valid authentication tag. */
  unauthenticated: number;
};

export type RoleInfo = { readonly role: Role; readonly epoch: number; readonly master: number | null };

export type Tracker = {
  readonly id: number;
  readonly address: string;
  readonly port: number;
  readonly repo: Repository;
  readonly sqlite: SqliteStore;
  readonly counters: Counters;
  /** Prometheus metrics of this instance (also served on /metrics). */
  readonly metrics: Metrics;
  /** Port of the per-instance metrics listener (`metricsPort`), null without one. */
  readonly metricsPort: number | null;
  /** Port of the HTTP tracker while this instance holds it (the Master), else null. */
  httpPort(): number | null;
  readonly role$: Observable<RoleInfo>;
  readonly live$: Observable<readonly LiveEntry[]>;
  /** Resolves with a process exit code when the instance must stop by itself (duplicate ID). */
  readonly fatal: Promise<{ code: number; reason: string }>;
  /** Simulate a lost connection: stop keepalives, broker traffic and replies, without exiting (and back). */
  setCut(cut: boolean): void;
  /** Stop serving, empty the repository (memory and SQLite) and release every resource. */
  stop(): Promise<void>;
};

export type TrackerConfig = Pick<Config, 'id' | 'host' | 'port' | 'db' | 'intervalS' | 'peerTtlS' | 'batchMs'> &
  Partial<Pick<Config, 'broker' | 'group' | 'iface' | 'heartbeatMs' | 'topic' | 'voteTimeoutMs' | 'clusterSize' | 'torrents' | 'rateLimit' | 'trustIpField'>> & {
    /** HTTP tracker (BEP 3/48): held by the Master like the UDP service address. Absent: no HTTP tracker. */
    readonly httpPort?: number;
    /** Address of the HTTP tracker; default `host`. */
    readonly httpHost?: string;
    /** Per-instance Prometheus listener (every instance, whatever its role); absent: only the HTTP tracker's /metrics. */
    readonly metricsPort?: number;
    readonly metricsHost?: string;
  };

type Transport = {
  readonly messages$: Observable<unknown>;
  readonly connected$: Observable<boolean>;
  publish(m: ClusterMessage & { tag: string }): void;
  close(): Promise<void>;
};

const MAX_BATCH = 4096;
const MAX_QUEUE = 65536;
const BROKER_START_TIMEOUT_MS = 10_000;
/** An HTTP announce not committed within this is answered with a failure (clients retry). */
const HTTP_COMMIT_TIMEOUT_MS = 10_000;

function localTransport(): Transport {
  return { messages$: NEVER, connected$: of(true), publish: () => {}, close: async () => {} };
}

export async function startTracker(cfg: TrackerConfig, deps: TrackerDeps): Promise<{ ok: true; tracker: Tracker } | { ok: false; error: string }> {
  // The mirror is written by a worker thread; its failures arrive later and make this instance vote ERROR.
  let onStoreError = (e: string): void => deps.log(`SQLite write failed: ${e}`);
  let onStoreWritten = (_seconds: number): void => {};
  const opened = await openWorkerStore(cfg.db, (e) => onStoreError(e), (s) => onStoreWritten(s));
  if (!opened.ok) return opened;
  const sqlite = opened.store;
  sqlite.clear(); // a crashed earlier run may have left rows behind: start from an empty repository

  const clustered = cfg.broker !== undefined;
  const timing = clusterTiming({ heartbeatMs: cfg.heartbeatMs ?? 1000, voteTimeoutMs: cfg.voteTimeoutMs ?? 500, clustered });
  const { scheduler, clock, log } = deps;
  let key = deps.key;
  const idCache = createConnectionIdCache();

  // Sockets. Alone: one socket on host:port serves everything. In a cluster: every instance listens on the
  // group; only the Master binds the unicast service address, and every reply leaves from it.
  const groupOpt = cfg.group ? { address: cfg.group, iface: cfg.iface ?? '127.0.0.1' } : undefined;
  let mainSocket: dgram.Socket | null = null;
  let groupSocket: dgram.Socket | null = null;
  if (!clustered) {
    const bound = await bindUdp({ host: cfg.host, port: cfg.port });
    if (!bound.ok) return fail(sqlite, bound.error);
    mainSocket = bound.bound.socket;
  }
  if (groupOpt) {
    const g = await bindUdp({ host: groupOpt.address, port: cfg.port, reuseAddr: true, group: groupOpt });
    if (!g.ok) {
      mainSocket?.close();
      return fail(sqlite, g.error);
    }
    groupSocket = g.bound.socket;
  }
  const port = mainSocket ? mainSocket.address().port : cfg.port;
  const address = mainSocket ? mainSocket.address().address : cfg.host;

  // Registered .torrent files: read once, committed like any change whenever this instance becomes Master.
  const registered = cfg.torrents ? loadTorrentDir(cfg.torrents) : { torrents: [], errors: [] };
  for (const e of registered.errors) log(`skipping ${e.file}: ${e.error}`);
  if (cfg.torrents) log(`registered ${registered.torrents.length} torrent(s) from ${cfg.torrents}`);

  const counters: Counters = { received: 0, replied: 0, dropped: 0, committed: 0, rejected: 0, badClusterMessages: 0, unauthenticated: 0 };
  const repo = createRepository({ sqlite, intervalS: cfg.intervalS, log });
  const metrics = createMetrics({
    labels: { tracker_id: String(cfg.id) },
    swarmStats: () => ({ swarms: repo.store.swarms.size, peers: countPeers(repo.store) }),
    process: cfg.metricsPort !== undefined || cfg.httpPort !== undefined,
  });
  metrics.liveInstances.set(1);
  onStoreWritten = (s) => metrics.sqliteWrite.observe(s);
  onStoreError = (e) => {
    log(`SQLite write failed: ${e}; voting ERROR until resynchronised`);
    csIn.next({ type: 'health', ok: false });
  };
  const signer = deps.secret ? createSigner(deps.secret) : openSigner;
  if (clustered && !deps.secret) log('warning: no cluster secret: anyone who can reach the broker can send cluster messages');
  const transport: Transport = clustered ? brokerTransport(cfg.broker!, cfg.topic ?? 'udp-tracker', cfg.id, deps.brokerLogin, log) : localTransport();

  const role$ = new BehaviorSubject<RoleInfo>({ role: 'starting', epoch: 0, master: null });
  const live$ = new BehaviorSubject<readonly LiveEntry[]>([]);
  const hbIn = new Subject<HeartbeatInput>();
  const elIn = new Subject<ElectionInput>();
  const csIn = new Subject<ConsensusInput<Proposal>>();
  const repoIn = new Subject<RepositoryInput>();
  const subs: Subscription[] = [];
  let cut = false;
  let stopping = false;
  let service: dgram.Socket | null = mainSocket;
  let serviceWanted = false;
  let synced = !clustered;
  let resolveFatal: (v: { code: number; reason: string }) => void = () => {};
  const fatal = new Promise<{ code: number; reason: string }>((r) => (resolveFatal = r));

  const publish = (m: ClusterMessage): void => {
    if (!cut) transport.publish(signer.sign(m));
  };
  const epoch = (): number => role$.value.epoch;
  const serving = (): boolean => !cut && role$.value.role === 'master' && service !== null;

  // ---- the service address follows the Master role ----
  const holdService = async (want: boolean): Promise<void> => {
    if (!clustered) return;
    serviceWanted = want;
    if (want && !service) {
      // A fence: a deposed Master that lost the broker stops answering before we may answer
      // (safetyMargins(timing).cutOffBeforeTakeover in domain/timing.ts).
      await firstValueFrom(timer(timing.fenceMs, scheduler));
      if (!serviceWanted || service) return;
      const b = await bindUdp({ host: cfg.host, port: cfg.port, reuseAddr: true });
      if (!b.ok) {
        log(`cannot take the service address: ${b.error}`);
        return;
      }
      if (!serviceWanted) {
        b.bound.socket.close();
        return;
      }
      service = b.bound.socket;
      subs.push(ingressFrom(service));
      log(`holding the service address udp://${cfg.host}:${cfg.port}`);
    } else if (!want && service) {
      const s = service;
      service = null;
      s.close();
      log('released the service address');
    }
  };

  // One limiter for both protocols: the budget is per client address.
  const limiter = cfg.rateLimit ? createRateLimiter(cfg.rateLimit) : undefined;
  const dropReason = (): DropReason => (role$.value.role === 'electing' ? 'election' : 'not_serving');
  // HTTP announces join the UDP ones in the same batches (see proposals$): one consensus round commits both.
  const httpProposal$ = new Subject<Proposal>();

  // ---- HTTP: announces wait for their commit; scrapes and refusals are answered at once ----
  const waiters = createHttpWaiters({ scheduler, timeoutMs: HTTP_COMMIT_TIMEOUT_MS, max: MAX_QUEUE });
  const httpDeps = {
    clock, serving: () => !cut && role$.value.role === 'master', store: () => repo.store,
    ...(deps.hashes ? { hashes: deps.hashes } : {}),
    ...(limiter ? { limiter } : {}),
  };
  const handleHttp = (req: HttpTrackerRequest, from: HttpFrom): Promise<Buffer> => {
    const o = handleHttpRequest(req, from, httpDeps);
    if (o.type === 'answer') {
      if (o.outcome === 'not-serving') metrics.countDropped('http', dropReason());
      else if (o.outcome === 'refused') metrics.countError('http', req.action);
      return Promise.resolve(o.body);
    }
    return waiters.wait((settle) => httpProposal$.next({ change: o.change, client: { ...o.client, settle } }));
  };
  const countHttp = (e: HttpRequestEvent): void => {
    if (e.action === 'metrics') return; // scrapes of /metrics are not tracker traffic
    metrics.countRequest('http', e.action);
    if (e.outcome !== 'ok') metrics.countError('http', e.action);
  };
  // The HTTP tracker follows the Master role like the UDP service address; steps run one at a time.
  let httpServer: HttpTrackerServer | null = null;
  let httpWanted = false;
  let httpError: string | null = null;
  let httpSteps: Promise<void> = Promise.resolve();
  const holdHttp = (want: boolean): Promise<void> => {
    if (cfg.httpPort === undefined) return Promise.resolve();
    httpWanted = want;
    httpSteps = httpSteps.then(async () => {
      if (httpWanted && !httpServer && !stopping) {
        const host = cfg.httpHost ?? cfg.host;
        const r = await startHttpTracker({ host, port: cfg.httpPort!, handle: handleHttp, metrics: () => metrics.text(), log, onRequest: countHttp });
        if (!r.ok) {
          httpError = r.error;
          log(`cannot take the HTTP tracker address: ${r.error}`);
          return;
        }
        httpError = null;
        if (!httpWanted || stopping) {
          await r.server.close();
          return;
        }
        httpServer = r.server;
        log(`HTTP tracker on http://${host}:${r.server.port}/announce`);
      } else if (!httpWanted && httpServer) {
        const s = httpServer;
        httpServer = null;
        waiters.settleAll(failureReply(NOT_SERVING));
        await s.close();
        log('released the HTTP tracker address');
      }
    }).catch((e: unknown) => log(`HTTP tracker: ${e instanceof Error ? e.message : String(e)}`));
    return httpSteps;
  };

  // ---- actors ----
  const heartbeat$ = heartbeatActor(
    { self: cfg.id, nonce: randomBytes(8).toString('hex'), startedAt: clock.now(), timing, watchEcho: clustered }, hbIn, scheduler,
  ).pipe(share());
  const election$ = electionActor(
    {
      self: cfg.id, discoveryMs: timing.discoveryMs, answerTimeoutMs: timing.answerTimeoutMs,
      coordinatorTimeoutMs: timing.coordinatorTimeoutMs, syncTimeoutMs: timing.syncTimeoutMs, clusterSize: cfg.clusterSize ?? 0,
    },
    elIn, scheduler,
  ).pipe(share());
  const consensus$ = consensusActor<Proposal>(
    { self: cfg.id, maxBatch: MAX_BATCH, maxQueue: MAX_QUEUE, voteTimeoutMs: timing.voteTimeoutMs, clusterSize: cfg.clusterSize ?? 0 }, csIn, scheduler,
  ).pipe(share());

  let applied = 0;
  /** Master: when each round in flight was prepared (scheduler time), for the commit latency. */
  const prepared = new Map<number, number>();
  const status = (): void => hbIn.next({ type: 'status', status: { role: role$.value.role, synced, epoch: epoch(), applied } });

  subs.push(heartbeat$.subscribe((o) => {
    switch (o.type) {
      case 'send-keepalive':
        publish(o.msg);
        break;
      case 'live': {
        live$.next(o.live);
        metrics.liveInstances.set(1 + o.live.filter((e) => e.id !== cfg.id).length);
        elIn.next({ type: 'live', live: o.live });
        const voters = o.live.filter((e) => e.synced && (e.role === 'slave' || e.role === 'master')).map((e) => e.id);
        csIn.next({ type: 'members', members: [cfg.id, ...voters] });
        break;
      }
      case 'seen':
        live$.next(o.live);
        break;
      case 'down':
        log(`instance ${o.entry.id} (${o.entry.role}) is down: silent for ${DOWN_AFTER_INTERVALS} keepalive intervals`);
        elIn.next({ type: 'down', entry: o.entry });
        break;
      case 'cut-off':
        // Our keepalives no longer come back: stop answering at once (another Master may be elected); when
        // they come back, rejoin as a newcomer.
        if (o.cut) {
          log('own keepalives are not coming back through the broker: isolated, not answering peers');
          elIn.next({ type: 'isolate' });
        } else if (role$.value.role === 'isolated') {
          log('own keepalives are back: rejoining');
          elIn.next({ type: 'rejoin' });
        }
        break;
      case 'duplicate':
        if (o.mine) {
          const reason = `ID ${cfg.id} is already used by a live instance (started ${new Date(o.other.startedAt).toISOString()}); choose another --id`;
          log(`error: ${reason}`);
          resolveFatal({ code: 3, reason });
        } else {
          log(`warning: another instance is starting with our ID ${cfg.id}; it will refuse to run`);
        }
        break;
    }
  }));

  const proposeTorrents = (): void => {
    const items: Proposal[] = registered.torrents
      .filter((t) => repo.store.swarms.get(t.infoHash.toString('latin1'))?.name !== t.name)
      .map((t) => ({ change: { kind: 'torrent', infoHash: t.infoHash, name: t.name, size: t.size }, client: null }));
    if (items.length > 0) csIn.next({ type: 'propose', items });
  };

  // Slaves buffer PREPARE/COMMIT/ABORT while a state transfer is under way, and replay what follows it.
  let syncBuffer: ClusterMessage[] | null = null;
  const assembler = createAssembler();

  subs.push(election$.subscribe((o) => {
    switch (o.type) {
      case 'send-election':
        publish({ type: 'election', from: cfg.id, epoch: o.epoch });
        break;
      case 'send-answer':
        publish({ type: 'answer', from: cfg.id, epoch: o.epoch, to: o.to });
        break;
      case 'send-coordinator':
        publish({ type: 'coordinator', from: cfg.id, epoch: o.epoch });
        break;
      case 'send-sync-request':
        syncBuffer = [];
        assembler.reset();
        publish({ type: 'sync-request', from: cfg.id, epoch: o.epoch, applied });
        break;
      case 'role': {
        const prev = role$.value;
        role$.next({ role: o.role, epoch: o.epoch, master: o.master });
        metrics.epoch.set(o.epoch);
        if (o.epoch > prev.epoch) metrics.elections.inc(); // a new epoch is a finished election (won or seen)
        if (o.role !== 'master') prepared.clear();
        if (o.role === 'master') synced = true;
        else if (clustered && (o.role === 'syncing' || o.role === 'starting' || o.role === 'isolated')) synced = false;
        if (prev.role !== o.role || prev.epoch !== o.epoch || prev.master !== o.master) {
          log(`role ${o.role} (epoch ${o.epoch}${o.master !== null ? `, master ${o.master}` : ''})`);
        }
        csIn.next({ type: 'role', role: o.role === 'master' ? 'master' : o.role === 'slave' ? 'slave' : 'off', epoch: o.epoch });
        if (o.role === 'master' && (prev.role !== 'master' || prev.epoch !== o.epoch)) proposeTorrents();
        void holdService(o.role === 'master');
        void holdHttp(o.role === 'master');
        status();
        break;
      }
    }
  }));

  subs.push(consensus$.subscribe((o) => {
    switch (o.type) {
      case 'send-prepare':
        prepared.set(o.seq, scheduler.now());
        metrics.batchSize.observe(o.items.length);
        // Alone there is nobody to tell: skip serialising the batch.
        if (clustered) publish({ type: 'prepare', from: cfg.id, epoch: o.epoch, seq: o.seq, changes: encodeChanges(o.items.map((p) => p.change)) });
        break;
      case 'send-vote':
        publish({ type: 'vote', from: cfg.id, epoch: o.epoch, to: o.to, seq: o.seq, ok: o.ok, ...(o.reason ? { reason: o.reason } : {}) });
        break;
      case 'send-commit': {
        publish({ type: 'commit', from: cfg.id, epoch: o.epoch, seq: o.seq });
        const at = prepared.get(o.seq);
        prepared.delete(o.seq);
        metrics.consensusRounds.inc({ outcome: 'committed' });
        if (at !== undefined) metrics.commitLatency.observe((scheduler.now() - at) / 1000);
        break;
      }
      case 'send-abort':
        publish({ type: 'abort', from: cfg.id, epoch: o.epoch, seq: o.seq });
        prepared.delete(o.seq);
        metrics.consensusRounds.inc({ outcome: 'aborted' });
        break;
      case 'apply':
        applied = o.seq;
        counters.committed += o.items.length;
        repoIn.next({ type: 'apply', seq: o.seq, items: o.items });
        if (!repo.healthy()) csIn.next({ type: 'health', ok: false });
        status();
        break;
      case 'reject':
        counters.rejected += o.items.length;
        repoIn.next(o);
        break;
      case 'resync':
        log(`resynchronising: ${o.reason}`);
        elIn.next({ type: 'resync' });
        break;
    }
  }));

  // ---- cluster messages from the transport ----
  const onCluster = (raw: unknown): void => {
    if (cut) return;
    const verified = signer.verify(raw);
    if (!verified) {
      counters.unauthenticated++;
      return;
    }
    const m = parseClusterMessage(verified);
    if (!m) {
      counters.badClusterMessages++;
      return;
    }
    if (m.from === cfg.id && m.type !== 'keepalive') return; // our own, echoed by the topic
    const now = scheduler.now();
    switch (m.type) {
      case 'keepalive':
        hbIn.next({ type: 'keepalive', msg: m, now });
        break;
      case 'election':
        elIn.next({ type: 'election', from: m.from, epoch: m.epoch });
        break;
      case 'answer':
        if (m.to === cfg.id) elIn.next({ type: 'answer', from: m.from, to: m.to, epoch: m.epoch });
        break;
      case 'coordinator':
        elIn.next({ type: 'coordinator', from: m.from, epoch: m.epoch });
        break;
      case 'prepare': case 'commit': case 'abort':
        if (syncBuffer) syncBuffer.push(m);
        else toConsensus(m);
        break;
      case 'vote':
        if (m.to === cfg.id) csIn.next({ type: 'vote', from: m.from, epoch: m.epoch, seq: m.seq, ok: m.ok });
        break;
      case 'sync-request':
        if (role$.value.role === 'master') {
          log(`state transfer to instance ${m.from}: ${repo.lastSeq()} commits`);
          for (const msg of snapshotMessages(cfg.id, epoch(), m.from, repo.lastSeq(), key, repo.snapshot())) publish(msg);
        }
        break;
      case 'snapshot': {
        if (m.to !== cfg.id || !syncBuffer) return;
        const done = assembler.add(m);
        if (done === 'bad') {
          counters.badClusterMessages++;
          return;
        }
        if (done === 'partial') return;
        const installed = repo.install(done.seq, done.changes);
        if (!installed.ok) {
          log(`state transfer could not be stored: ${installed.error}`);
          return;
        }
        key = done.key;
        idCache.clear();
        applied = done.seq;
        synced = true;
        csIn.next({ type: 'applied', seq: done.seq });
        csIn.next({ type: 'health', ok: true });
        log(`state transfer complete: ${done.changes.length} records at commit ${done.seq}`);
        elIn.next({ type: 'synced' });
        const replay = syncBuffer;
        syncBuffer = null;
        for (const b of replay) if ((b as { seq: number }).seq > done.seq) toConsensus(b);
        status();
        break;
      }
      case 'duplicate-id':
        break;
    }
  };
  const toConsensus = (m: ClusterMessage): void => {
    if (m.type === 'prepare') {
      const changes = decodeChanges(m.changes);
      if (!changes) {
        counters.badClusterMessages++;
        return;
      }
      csIn.next({ type: 'prepare', from: m.from, epoch: m.epoch, seq: m.seq, items: changes.map((change) => ({ change, client: null })) });
    } else if (m.type === 'commit' || m.type === 'abort') {
      csIn.next({ type: m.type, from: m.from, epoch: m.epoch, seq: m.seq });
    }
  };
  subs.push(transport.messages$.subscribe(onCluster));
  // The first connection starts the instance; later losses isolate it until the broker is back.
  let everConnected = false;
  subs.push(transport.connected$.pipe(distinctUntilChanged()).subscribe((up) => {
    if (cut) return;
    if (!everConnected) {
      if (!up) return;
      everConnected = true;
      elIn.next({ type: 'start' });
    } else if (!up) {
      log('broker connection lost: isolated, not answering peers');
      hbIn.next({ type: 'mute', muted: true });
      elIn.next({ type: 'isolate' });
    } else {
      log('broker connection back: rejoining');
      hbIn.next({ type: 'mute', muted: false });
      elIn.next({ type: 'rejoin' });
    }
  }));
  if (clustered) {
    subs.push(timer(BROKER_START_TIMEOUT_MS, scheduler).subscribe(() => {
      if (!everConnected) resolveFatal({ code: 1, reason: `cannot reach the broker at ${cfg.broker} (tried for ${BROKER_START_TIMEOUT_MS / 1000} s)` });
    }));
  }

  // ---- the data path ----
  const datagram$ = new Subject<Datagram>();
  function ingressFrom(socket: dgram.Socket): Subscription {
    return datagrams(socket, (e) => log(`UDP socket error: ${e.message}`)).subscribe(datagram$);
  }
  if (mainSocket) subs.push(ingressFrom(mainSocket));
  if (groupSocket) subs.push(ingressFrom(groupSocket));

  const countUdp = (d: Datagram, o: IngressOutput): void => {
    const action = udpRequestAction(d.data);
    metrics.countRequest('udp', action);
    if (o.type === 'dropped') {
      if (o.reason === 'not serving') metrics.countDropped('udp', dropReason());
      else metrics.countError('udp', action);
    } else if (o.type === 'reply' && o.data.length >= 4 && o.data.readUInt32BE(0) === Action.error) {
      metrics.countError('udp', action);
    }
  };
  const ingress$ = udpIngress(datagram$, {
    clock, key: () => key, serving, idCache, observe: countUdp,
    ...(deps.hashes ? { hashes: deps.hashes } : {}),
    ...(limiter ? { limiter } : {}),
    ...(cfg.trustIpField ? { trustIpField: true } : {}),
  }).pipe(share());
  const proposals$ = merge(
    ingress$.pipe(
      filter((o): o is Extract<IngressOutput, { type: 'propose' }> => o.type === 'propose'),
      map((o) => o.proposal),
    ),
    httpProposal$,
  ).pipe(batch(cfg.batchMs, MAX_BATCH, scheduler));
  // Expiry is a committed change like any other, so every replica drops the same peers at the same point.
  const sweepMs = Math.max(1000, Math.min(cfg.peerTtlS * 250, 30_000));
  const expire$ = interval(sweepMs, clock).pipe(
    filter(() => role$.value.role === 'master'),
    map((): Proposal[] => [{ change: { kind: 'expire', before: clock.now() - cfg.peerTtlS * 1000 }, client: null }]),
  );
  subs.push(merge(proposals$, expire$).subscribe((items) => csIn.next({ type: 'propose', items })));
  subs.push(ingress$.subscribe((o) => {
    counters.received++;
    if (o.type === 'dropped') counters.dropped++;
    else if (o.type === 'scrape') repoIn.next({ type: 'scrape', query: o.query });
  }));

  const send = (r: LocalMessage): void => {
    if (r.type !== 'reply') return;
    if (cut || !service) {
      metrics.countDropped('udp', dropReason());
      return;
    }
    counters.replied++;
    service.send(r.data, r.to.port, r.to.address);
  };
  subs.push(ingress$.pipe(filter((o): o is Extract<IngressOutput, { type: 'reply' }> => o.type === 'reply')).subscribe(send));
  subs.push(repositoryActor(repoIn, repo).subscribe(send));

  // ---- go ----
  // A lone instance elects itself at once: return only when it serves, so callers never race the first request.
  if (!clustered) await firstValueFrom(role$.pipe(filter((r) => r.role === 'master')));
  let metricsServer: HttpTrackerServer | null = null;
  const cleanUpAfter = async (error: string): Promise<{ ok: false; error: string }> => {
    await tracker.stop();
    return { ok: false, error };
  };
  const tracker: Tracker = {
    id: cfg.id,
    address,
    port,
    repo,
    sqlite,
    counters,
    metrics,
    get metricsPort() {
      return metricsServer?.port ?? null;
    },
    httpPort: () => httpServer?.port ?? null,
    role$: role$.asObservable(),
    live$: live$.asObservable(),
    fatal,
    setCut(on) {
      if (on === cut) return;
      if (on) {
        log('simulated failure: cut off from the cluster and from peers');
        hbIn.next({ type: 'mute', muted: true });
        elIn.next({ type: 'isolate' });
        cut = true;
      } else {
        cut = false;
        log('simulated failure over: rejoining');
        hbIn.next({ type: 'mute', muted: false });
        elIn.next({ type: 'rejoin' });
      }
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      for (const s of subs) s.unsubscribe();
      waiters.settleAll(failureReply('tracker stopping'));
      await holdHttp(false);
      await metricsServer?.close();
      serviceWanted = false;
      const sockets = [mainSocket, groupSocket, service].filter((s): s is dgram.Socket => s !== null);
      await Promise.all([...new Set(sockets)].map((s) => new Promise<void>((r) => {
        try {
          s.close(() => r());
        } catch {
          r();
        }
      })));
      await transport.close();
      repo.clear();
      await sqlite.close(); // the worker finishes its queue (the clear included) first
    },
  };
  // Listeners that must exist when startTracker returns: a port in use is a start-up error (exit 1).
  if (!clustered && cfg.httpPort !== undefined) {
    await holdHttp(true);
    if (!httpServer) return cleanUpAfter(httpError ?? 'cannot start the HTTP tracker');
  }
  if (cfg.metricsPort !== undefined) {
    const m = await startHttpTracker({ host: cfg.metricsHost ?? '127.0.0.1', port: cfg.metricsPort, metrics: () => metrics.text(), log });
    if (!m.ok) return cleanUpAfter(m.error);
    metricsServer = m.server;
    log(`metrics on http://${cfg.metricsHost ?? '127.0.0.1'}:${m.server.port}/metrics`);
  }
  return { ok: true, tracker };
}

async function fail(sqlite: SqliteStore, error: string): Promise<{ ok: false; error: string }> {
  await sqlite.close();
  return { ok: false, error };
}

function brokerTransport(url: string, topic: string, self: number, login: TrackerDeps['brokerLogin'], log: (s: string) => void): Transport {
  const route = routing(self);
  const bridge = connectBroker({ url, topic, log, selector: route.selector, ...(login ? { login: login.login, passcode: login.passcode } : {}) });
  return {
    messages$: bridge.messages$,
    connected$: bridge.connected$,
    publish: (m) => void bridge.publish(m, route.headers(m)),
    close: () => bridge.close(),
  };
}
