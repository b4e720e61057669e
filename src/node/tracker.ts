/**
 * The composition root of one tracker instance: opens its edges (SQLite mirror, UDP sockets), wires the planes
 * (src/node/instance.ts) and starts the listeners that must exist before it returns. Everything with a clock
 * takes an injected scheduler; the caller owns process concerns (flags, signals).
 */
import type dgram from 'node:dgram';
import type { Observable, SchedulerLike } from 'rxjs';
import type { LiveEntry } from '../../actors/heartbeat.js';
import type { Repository } from '../../actors/repository.js';
import { startHttpTracker } from '../../streams/http-server.js';
import type { SqliteStore } from '../../streams/sqlite/sqlite-store.js';
import { type MirrorEvents, openWorkerStore } from '../../streams/sqlite/worker-store.js';
import { bindUdp } from '../../streams/udp-socket.js';
import type { Config } from '../config/index.js';
import type { Metrics } from '../metrics.js';
import type { HashPolicy } from '../policy/hash-list.js';
import type { ConnectionIdKey } from '../protocol/connection-id.js';
import type { RoleInfo } from './control-plane.js';
import { type Instance, wireInstance } from './instance.js';
import type { BrokerLogin } from './transport.js';

export type { RoleInfo };

export type TrackerDeps = {
  /** Drives batching windows, keepalives and every protocol timeout. */
  readonly scheduler: SchedulerLike;
  /** Wall time: connection-ID stamps, peers' last-seen times and the expiry sweep. Usually the same scheduler. */
  readonly clock: SchedulerLike;
  /** Zero delay = the end of the current event-loop turn (group commit gathers one turn's announces); default `scheduler`. */
  readonly turn?: SchedulerLike;
  /**
   * This instance's connection-ID key when there is no secret (a Slave adopts the Master's during state transfer).
   * With a secret it is not used: every instance derives each period's key from the secret.
   */
  readonly key: ConnectionIdKey;
  /** Shared secret of the cluster: every bus message is authenticated with it (absent: unauthenticated). */
  readonly secret?: Buffer;
  readonly brokerLogin?: BrokerLogin;
  /** Certificate authorities trusted for stomp+ssl:// brokers. */
  readonly brokerCa?: Buffer;
  /** Current info-hash allow/deny lists (the caller reloads them). */
  readonly hashes?: () => HashPolicy;
  readonly log: (line: string) => void;
};

export type Tracker = {
  readonly id: number;
  readonly address: string;
  readonly port: number;
  readonly repo: Repository;
  readonly sqlite: SqliteStore;
  /** Prometheus metrics of this instance (also served on /metrics). */
  readonly metrics: Metrics;
  /** Port of the per-instance metrics listener (`--metrics-port`), null without one. */
  readonly metricsPort: number | null;
  /** Port of the HTTP tracker while this instance holds it (the Master), else null. */
  httpPort(): number | null;
  readonly role$: Observable<RoleInfo>;
  readonly live$: Observable<readonly LiveEntry[]>;
  /** The broker in use (one of `--broker`'s list); null while down, and alone. */
  readonly broker$: Observable<string | null>;
  /** Resolves with a process exit code when the instance must stop by itself (duplicate ID, no broker). */
  readonly fatal: Promise<{ code: number; reason: string }>;
  /** State transfers under way: the one this instance takes, and those it sends (a Master). */
  transfers(): TransferView;
  /** Simulate a lost connection: stop keepalives, broker traffic and replies, without exiting (and back). */
  setCut(cut: boolean): void;
  /** Stop serving, empty the repository (memory and SQLite) and release every resource. */
  stop(): Promise<void>;
};

/** What the Trackers tab shows of state transfers: records so far of the total expected. */
export type TransferProgress = {
  readonly peer: number | null;
  readonly kind: 'snapshot' | 'log' | null;
  readonly records: number;
  readonly total: number;
};
export type TransferView = { readonly receiving: TransferProgress | null; readonly sending: readonly TransferProgress[] };

export type Started = { ok: true; tracker: Tracker } | { ok: false; error: string };

/** The sockets an instance opens at start: its own (alone) and the multicast group's (in a cluster). */
export type StartSockets = { readonly main: dgram.Socket | null; readonly group: dgram.Socket | null };

export async function startTracker(cfg: Config, deps: TrackerDeps): Promise<Started> {
  // The mirror is written by a worker thread; its failures arrive later (the instance then refuses changes).
  const hooks: MirrorEvents = {
    error: (e) => deps.log(`SQLite write failed: ${e}`),
    healed: () => {},
    written: () => {},
  };
  const opened = await openWorkerStore(cfg.storage.db, cfg.storage.mirrorLagMs, {
    error: (e) => hooks.error(e),
    healed: (s) => hooks.healed(s),
    written: (s) => hooks.written(s),
  });
  if (!opened.ok) return opened;
  const sqlite = opened.store;
  sqlite.clear(); // a crashed earlier run may have left rows behind: start from an empty repository
  const sockets = await bindStartSockets(cfg);
  if (!sockets.ok) {
    await sqlite.close();
    return sockets;
  }
  const tracker = await wireInstance(cfg, deps, sqlite, sockets.sockets, hooks);
  const failed = await startListeners(cfg, tracker, deps.log);
  if (failed) {
    await tracker.stop();
    return { ok: false, error: failed };
  }
  return { ok: true, tracker };
}

/** Alone: one socket on host:port serves everything. In a cluster: the group socket; the service address is the Master's. */
async function bindStartSockets(cfg: Config): Promise<{ ok: true; sockets: StartSockets } | { ok: false; error: string }> {
  const { network } = cfg;
  let main: dgram.Socket | null = null;
  if (cfg.cluster.broker === undefined) {
    const bound = await bindUdp({ host: network.host, port: network.port });
    if (!bound.ok) return bound;
    main = bound.bound.socket;
  }
  if (!network.group) return { ok: true, sockets: { main, group: null } };
  const group = { address: network.group, iface: network.iface };
  const g = await bindUdp({ host: network.group, port: network.port, reuseAddr: true, group });
  if (!g.ok) {
    main?.close();
    return g;
  }
  return { ok: true, sockets: { main, group: g.bound.socket } };
}

/** Listeners that must exist when startTracker returns: a port in use is a start-up error (exit 1). */
async function startListeners(cfg: Config, tracker: Instance, log: (line: string) => void): Promise<string | null> {
  if (cfg.cluster.broker === undefined && cfg.http.port !== undefined) {
    const error = await tracker.holdHttpNow();
    if (error) return error;
  }
  if (cfg.http.metricsPort === undefined) return null;
  const host = cfg.http.metricsHost;
  const m = await startHttpTracker({ host, port: cfg.http.metricsPort, metrics: () => tracker.metrics.text(), log });
  if (!m.ok) return m.error;
  tracker.attachMetrics(m.server.port, () => m.server.close());
  log(`metrics on http://${host}:${m.server.port}/metrics`);
  return null;
}
