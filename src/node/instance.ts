/**
 * One instance wired: the control plane (keepalives, election), the data plane (datagram → reply), the cluster
 * inbox and the role holders (service address, HTTP tracker), sharing one context. The handlers that react to
 * each plane's events are in handlers.ts.
 */
import { randomBytes } from 'node:crypto';
import type dgram from 'node:dgram';
import {
  BehaviorSubject,
  distinctUntilChanged,
  filter,
  firstValueFrom,
  interval,
  map,
  merge,
  Subject,
  type Subscription,
  timer,
} from 'rxjs';
import type { ConsensusInput } from '../../actors/consensus.js';
import type { LiveEntry } from '../../actors/heartbeat.js';
import { createRepository } from '../../actors/repository.js';
import type { SqliteStore } from '../../streams/sqlite/sqlite-store.js';
import type { MirrorEvents } from '../../streams/sqlite/worker-store.js';
import { datagrams } from '../../streams/udp-socket.js';
import { createSigner, openSigner } from '../bus/auth.js';
import { createFreshness } from '../bus/freshness.js';
import type { Config } from '../config/index.js';
import { countPeers } from '../domain/swarm.js';
import { clusterTiming } from '../domain/timing.js';
import { createMetrics } from '../metrics.js';
import { createRateLimiter } from '../policy/rate-limit.js';
import { connectionKeySchedule, createConnectionIdCache } from '../protocol/connection-id.js';
import type { Datagram } from '../protocol/types.js';
import { loadTorrentDir } from '../torrent/load-dir.js';
import { controlPlane, type RoleInfo } from './control-plane.js';
import { type ClientProposal, dataPlane } from './data-plane.js';
import {
  commitConfirmed,
  type Ctx,
  countUdp,
  dropReason,
  handleBulk,
  handleControl,
  handleData,
  handleInbound,
  onConnected,
} from './handlers.js';
import { httpHolder } from './http-holder.js';
import { serviceAddress } from './service-address.js';
import { createRoundLog } from './round-log.js';
import { createStateSync } from './state-sync.js';
import { transferSenders } from './transfer-sender.js';
import { sendPart, transferEnded } from './transfers.js';
import type { StartSockets, Tracker, TrackerDeps } from './tracker.js';
import { type BrokerAccess, brokerTransport, localTransport } from './transport.js';

/** A wired instance, plus the two listener hooks startTracker uses before handing it out. */
export type Instance = Tracker & { attachMetrics(port: number, close: () => Promise<void>): void; holdHttpNow(): Promise<string | null> };

const BROKER_START_TIMEOUT_MS = 10_000;

export async function wireInstance(
  cfg: Config,
  deps: TrackerDeps,
  sqlite: SqliteStore,
  sockets: StartSockets,
  hooks: MirrorEvents,
): Promise<Instance> {
  const ctx = createContext(cfg, deps, sqlite, sockets);
  hooks.written = (s) => ctx.metrics.sqliteWrite.observe(s);
  hooks.error = (e) => {
    ctx.state.mirrorFailing = true;
    ctx.metrics.mirrorFailures.inc();
    ctx.log(`SQLite write failed: ${e}; refusing changes and retrying with back-off`);
    ctx.consensus.next({ type: 'health', ok: false });
  };
  hooks.healed = (after) => {
    ctx.state.mirrorFailing = false;
    ctx.metrics.mirrorRecoveries.inc();
    ctx.log(`SQLite writes succeed again after ${after.toFixed(1)} s: the file is back in step`);
    ctx.consensus.next({ type: 'health', ok: ctx.repo.healthy() });
  };
  const subs = ctx.subs;
  subs.push(ctx.control.event$.subscribe((e) => handleControl(e, ctx)));
  subs.push(startDataPlane(ctx).subscribe((o) => handleData(o, ctx)));
  subs.push(ctx.transport.messages$.subscribe((raw) => handleInbound(raw, ctx)));
  subs.push(ctx.transport.bulk.messages$.subscribe((raw) => handleBulk(raw, ctx)));
  subs.push(ctx.transport.connected$.pipe(distinctUntilChanged()).subscribe((up) => onConnected(up, ctx)));
  // Wrong credentials at start-up are fatal with one clear line; later (a broker reconfigured) they are logged.
  subs.push(
    ctx.transport.refused$.subscribe((why) => {
      if (!ctx.state.everConnected) ctx.fatal(1, `the broker refused our login (${why}); check --broker-credentials`);
    }),
  );
  if (ctx.clustered) {
    subs.push(
      timer(BROKER_START_TIMEOUT_MS, deps.scheduler).subscribe(() => {
        if (!ctx.state.everConnected)
          ctx.fatal(1, `cannot reach the broker at ${cfg.cluster.broker} (tried for ${BROKER_START_TIMEOUT_MS / 1000} s)`);
      }),
    );
  }
  for (const s of [sockets.main, sockets.group]) if (s) subs.push(ingressFrom(s, ctx));
  // A lone instance elects itself at once: return only when it serves, so callers never race the first request.
  if (!ctx.clustered) await firstValueFrom(ctx.role$.pipe(filter((r) => r.role === 'master')));
  return instanceFace(ctx, sockets);
}

function createContext(cfg: Config, deps: TrackerDeps, sqlite: SqliteStore, sockets: StartSockets): Ctx {
  const { log } = deps;
  const clustered = cfg.cluster.broker !== undefined;
  const timing = clusterTiming({ heartbeatMs: cfg.cluster.heartbeatMs, voteTimeoutMs: cfg.cluster.voteTimeoutMs, clustered });
  const repo = createRepository({ mirror: sqlite, log });
  const commits = new Map<number, Promise<boolean>>();
  const roundLog = createRoundLog();
  const metrics = createMetrics({
    roundLog: () => roundLog.stats(),
    labels: { tracker_id: String(cfg.id) },
    swarmStats: () => ({ swarms: repo.store.swarms.size, peers: countPeers(repo.store) }),
    awaitingReceipt: () => commits.size,
    mirrorLag: () => sqlite.lagSeconds(),
    process: cfg.http.metricsPort !== undefined || cfg.http.port !== undefined,
  });
  metrics.liveInstances.set(1);
  if (clustered && !deps.secret) log('warning: no cluster secret: anyone who can reach the broker can send cluster messages');
  const registered = cfg.storage.torrents ? loadTorrentDir(cfg.storage.torrents) : { torrents: [], errors: [] };
  for (const e of registered.errors) log(`skipping ${e.file}: ${e.error}`);
  if (cfg.storage.torrents) log(`registered ${registered.torrents.length} torrent(s) from ${cfg.storage.torrents}`);
  const role$ = new BehaviorSubject<RoleInfo>({ role: 'starting', epoch: 0, master: null });
  // With a secret, connection-ID keys are derived from it per period (the same at every instance, never sent).
  const key = deps.secret ? connectionKeySchedule(deps.secret) : deps.key;
  const state = {
    key,
    applied: 0,
    synced: !clustered,
    cut: false,
    stopping: false,
    everConnected: false,
    mirrorBacklog: 0,
    mirrorFailing: false,
  };
  let resolveFatal: (f: { code: number; reason: string }) => void = () => {};
  const fatalPromise = new Promise<{ code: number; reason: string }>((r) => (resolveFatal = r));
  const limiter = cfg.policy.rateLimit ? createRateLimiter(cfg.policy.rateLimit) : undefined;
  const subs: Subscription[] = [];
  // This start's incarnation: the keepalive's nonce, and with a secret the `inc` every signed message carries.
  const incarnation = randomBytes(8).toString('hex');
  const startedAt = deps.clock.now();
  const ctx: Ctx = {
    cfg,
    deps,
    log,
    clustered,
    timing,
    repo,
    sqlite,
    metrics,
    role$,
    state,
    subs,
    limiter,
    live$: new BehaviorSubject<readonly LiveEntry[]>([]),
    signer: deps.secret ? createSigner(deps.secret, incarnation) : openSigner,
    freshness: deps.secret ? createFreshness(cfg.id, { inc: incarnation, startedAt }) : undefined,
    transport: clustered ? brokerTransport(cfg.cluster.brokers, cfg.cluster.topic, cfg.id, brokerAccess(deps), log) : localTransport(),
    consensus: new Subject<ConsensusInput<ClientProposal>>(),
    datagram$: new Subject<Datagram>(),
    httpProposal$: new Subject<ClientProposal>(),
    torrents$: new Subject<readonly ClientProposal[]>(),
    registered: registered.torrents,
    idCache: createConnectionIdCache(),
    sync: createStateSync(repo, roundLog),
    roundLog,
    pendingRounds: new Map(),
    senders: transferSenders({
      scheduler: deps.scheduler,
      send: (p) => sendPart(p, ctx),
      ended: (o) => transferEnded(o, ctx),
    }),
    prepared: new Map(),
    commits,
    fatalPromise,
    fatal: (code, reason) => {
      log(`error: ${reason}`);
      resolveFatal({ code, reason });
    },
    control: controlPlane({
      self: cfg.id,
      nonce: incarnation,
      startedAt,
      clustered,
      clusterSize: cfg.cluster.clusterSize,
      timing,
      scheduler: deps.scheduler,
      role: () => role$.value.role,
      log,
    }),
    service: serviceAddress({
      host: cfg.network.host,
      port: cfg.network.port,
      fenceMs: timing.fenceMs,
      scheduler: deps.scheduler,
      fixed: sockets.main,
      log,
      onBound: (socket) => subs.push(ingressFrom(socket, ctx)),
    }),
    http: null,
  };
  if (cfg.http.port !== undefined) ctx.http = startHttpHolder(ctx, cfg.http.port);
  return ctx;
}

const brokerAccess = (deps: TrackerDeps): BrokerAccess => ({
  ...(deps.brokerLogin ? { login: deps.brokerLogin } : {}),
  ...(deps.brokerCa ? { ca: deps.brokerCa } : {}),
});

function startHttpHolder(ctx: Ctx, port: number) {
  const { deps, cfg } = ctx;
  return httpHolder({
    host: cfg.http.host,
    port,
    scheduler: deps.scheduler,
    clock: deps.clock,
    metrics: ctx.metrics,
    log: ctx.log,
    serving: () => !ctx.state.cut && ctx.role$.value.role === 'master',
    store: () => ctx.repo.store,
    dropReason: () => dropReason(ctx),
    propose: (p) => ctx.httpProposal$.next(p),
    ...(deps.hashes ? { hashes: deps.hashes } : {}),
    ...(ctx.limiter ? { limiter: ctx.limiter } : {}),
  });
}

function startDataPlane(ctx: Ctx) {
  const { cfg, deps } = ctx;
  const { clock } = deps;
  // Expiry is a committed change like any other, so every replica drops the same peers at the same point.
  const sweepMs = Math.max(1000, Math.min(cfg.policy.peerTtlS * 250, 30_000));
  const expire$ = interval(sweepMs, clock).pipe(
    filter(() => ctx.role$.value.role === 'master'),
    map((): ClientProposal[] => [{ change: { kind: 'expire', before: clock.now() - cfg.policy.peerTtlS * 1000 }, client: null }]),
  );
  return dataPlane(
    { datagram$: ctx.datagram$, httpProposal$: ctx.httpProposal$, own$: merge(expire$, ctx.torrents$), control$: ctx.consensus },
    {
      self: cfg.id,
      scheduler: deps.scheduler,
      ...(deps.turn ? { turn: deps.turn } : {}),
      clock,
      repo: ctx.repo,
      intervalS: cfg.policy.intervalS,
      batchMs: cfg.cluster.batchMs,
      voteTimeoutMs: ctx.timing.voteTimeoutMs,
      clusterSize: cfg.cluster.clusterSize,
      key: () => ctx.state.key,
      ...(ctx.clustered ? { commitConfirmed: (seq: number) => commitConfirmed(seq, ctx) } : {}),
      idCache: ctx.idCache,
      observe: (d, o) => countUdp(d, o, ctx),
      serving: () => !ctx.state.cut && ctx.role$.value.role === 'master' && ctx.service.current() !== null,
      ...(deps.hashes ? { hashes: deps.hashes } : {}),
      ...(ctx.limiter ? { limiter: ctx.limiter } : {}),
      ...(cfg.policy.trustIpField ? { trustIpField: true } : {}),
    },
  );
}

function ingressFrom(socket: dgram.Socket, ctx: Ctx): Subscription {
  return datagrams(socket, (e) => ctx.log(`UDP socket error: ${e.message}`)).subscribe((d) => ctx.datagram$.next(d));
}

function instanceFace(ctx: Ctx, sockets: StartSockets): Instance {
  const { cfg, log, state } = ctx;
  let metricsServer: { port: number; close: () => Promise<void> } | null = null;
  const address = sockets.main ? sockets.main.address() : { address: cfg.network.host, port: cfg.network.port };
  return {
    id: cfg.id,
    address: address.address,
    port: address.port,
    repo: ctx.repo,
    sqlite: ctx.sqlite,
    metrics: ctx.metrics,
    get metricsPort() {
      return metricsServer?.port ?? null;
    },
    httpPort: () => ctx.http?.port() ?? null,
    role$: ctx.role$.asObservable(),
    live$: ctx.live$.asObservable(),
    broker$: ctx.transport.serving$,
    fatal: ctx.fatalPromise,
    transfers() {
      const r = ctx.sync.progress();
      return {
        receiving: r ? { peer: r.from, kind: r.kind, records: r.records, total: r.total } : null,
        sending: ctx.senders.active().map((s) => ({ peer: s.to, kind: s.kind, records: s.records, total: s.total })),
      };
    },
    attachMetrics(port, close) {
      metricsServer = { port, close };
    },
    holdHttpNow: async () => {
      const http = ctx.http;
      if (!http) return null;
      await http.hold(true);
      return http.port() === null ? (http.error() ?? 'cannot start the HTTP tracker') : null;
    },
    setCut(on) {
      if (on === state.cut) return;
      log(on ? 'simulated failure: cut off from the cluster and from peers' : 'simulated failure over: rejoining');
      if (!on) state.cut = false;
      ctx.control.to.heartbeat({ type: 'mute', muted: on });
      ctx.control.to.election({ type: on ? 'isolate' : 'rejoin' });
      if (on) state.cut = true;
    },
    async stop() {
      if (state.stopping) return;
      state.stopping = true;
      for (const s of ctx.subs) s.unsubscribe();
      ctx.senders.stopAll();
      await ctx.http?.stop('tracker stopping');
      await metricsServer?.close();
      await ctx.service.hold(false);
      await Promise.all([sockets.main, sockets.group].filter((s) => s !== null).map(closeSocket));
      await ctx.transport.close();
      ctx.repo.clear();
      await ctx.sqlite.close(); // the worker finishes its queue (the clear included) first
    },
  };
}

function closeSocket(s: dgram.Socket): Promise<void> {
  return new Promise<void>((r) => {
    try {
      s.close(() => r());
    } catch {
      r();
    }
  });
}
