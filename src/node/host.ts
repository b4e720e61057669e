/**
 * Keeps one tracker instance alive across the UI's Start/Stop commands and exposes its streams (status, live
 * instances, sampled swarms) whether or not an instance is running. The UI reads these and sends commands;
 * it never touches actor internals.
 */
import { BehaviorSubject, combineLatest, map, type Observable, of, share, switchMap, timer } from 'rxjs';
import type { Role } from '../bus/messages.js';
import { CLUSTER_REJECTS, type ClusterReject } from '../domain/reasons.js';
import { getSwarm, leechers, peersOf } from '../domain/swarm.js';
import type { Swarm, SwarmStore } from '../domain/types.js';
import { addressText } from '../protocol/compact.js';
import type { Config } from '../config/index.js';
import { startTracker, type Tracker, type TrackerDeps } from './tracker.js';

export type Status = {
  readonly running: boolean;
  readonly role: Role;
  readonly epoch: number;
  readonly master: number | null;
  readonly cut: boolean;
  readonly error: string | null;
};

export type SwarmRow = {
  readonly infoHash: string;
  readonly name: string;
  /** From a registered .torrent, else a peer's downloaded + left; null when unknown. */
  readonly size: bigint | null;
  readonly seeders: number;
  readonly leechers: number;
  readonly completed: number;
};

/** One other live instance as the Trackers tab shows it. */
export type InstanceRow = { readonly id: number; readonly role: Role; readonly epoch: number; readonly lastSeen: number };

export type PeerRow = {
  readonly peerId: string;
  readonly address: string;
  readonly downloaded: bigint;
  readonly left: bigint;
  readonly uploaded: bigint;
};

export type UiCommand = { type: 'start' } | { type: 'stop' } | { type: 'cut'; on: boolean } | { type: 'quit' };

export type Host = {
  readonly status$: Observable<Status>;
  readonly live$: Observable<readonly InstanceRow[]>;
  /** Sampled every `sampleMs` while subscribed: the repository is read on the UI's clock, never per request. */
  readonly swarms$: Observable<readonly SwarmRow[]>;
  peers$(infoHash: string): Observable<readonly PeerRow[]>;
  /**
   * Cluster messages this instance refused, by reason (what /metrics counts as
   * tracker_cluster_messages_rejected_total), sampled on the host's tick; all zero while no instance runs.
   */
  readonly rejected$: Observable<Readonly<Record<ClusterReject, number>>>;
  readonly now$: Observable<number>;
  command(c: UiCommand): Promise<void>;
  current(): Tracker | null;
};

export function swarmRow(store: SwarmStore, s: Swarm): SwarmRow {
  // Without a registered .torrent, a leecher's downloaded + left is the content's size; take the largest seen.
  let derived = 0n;
  if (s.size === null) for (const p of peersOf(store, s)) if (p.downloaded + p.left > derived) derived = p.downloaded + p.left;
  const sized = s.size ?? (derived > 0n ? derived : null);
  return {
    infoHash: s.infoHash.toString('hex'),
    name: s.name ?? s.infoHash.toString('hex'),
    size: sized,
    seeders: s.seeders,
    leechers: leechers(s),
    completed: s.completed,
  };
}

export function createHost(cfg: Config, deps: TrackerDeps & { sampleMs?: number; onFatal?: (code: number, reason: string) => void }): Host {
  const tracker$ = new BehaviorSubject<Tracker | null>(null);
  const status$ = new BehaviorSubject<Status>({ running: false, role: 'stopped', epoch: 0, master: null, cut: false, error: null });
  const sampleMs = deps.sampleMs ?? 1000;
  const tick$ = timer(0, sampleMs, deps.scheduler).pipe(share());
  let busy: Promise<void> = Promise.resolve();

  const patch = (p: Partial<Status>): void => status$.next({ ...status$.value, ...p });

  const start = async (): Promise<void> => {
    if (tracker$.value) return;
    const r = await startTracker(cfg, deps);
    if (!r.ok) {
      patch({ running: false, error: r.error });
      deps.log(`error: ${r.error}`);
      return;
    }
    const t = r.tracker;
    tracker$.next(t);
    patch({ running: true, cut: false, error: null });
    t.role$.subscribe((role) => {
      if (tracker$.value === t) patch({ role: role.role, epoch: role.epoch, master: role.master });
    });
    void t.fatal.then((f) => deps.onFatal?.(f.code, f.reason));
  };

  const stop = async (): Promise<void> => {
    const t = tracker$.value;
    if (!t) return;
    tracker$.next(null);
    await t.stop();
    patch({ running: false, role: 'stopped', epoch: 0, master: null, cut: false });
  };

  return {
    status$: status$.asObservable(),
    live$: tracker$.pipe(switchMap((t) => (t ? t.live$.pipe(map((live) => live.map(instanceRow))) : of([])))),
    swarms$: combineLatest([tracker$, tick$]).pipe(
      map(([t]) => (t ? [...t.repo.store.swarms.values()].map((s) => swarmRow(t.repo.store, s)).sort(bySize) : [])),
    ),
    peers$: (infoHash) =>
      combineLatest([tracker$, tick$]).pipe(
        map(([t]) => {
          const s = t ? getSwarm(t.repo.store, Buffer.from(infoHash, 'hex')) : undefined;
          return s && t
            ? peersOf(t.repo.store, s).map((p) => ({
                peerId: printable(p.peerId),
                address: `${addressText(p.ip)}:${p.port}`,
                downloaded: p.downloaded,
                left: p.left,
                uploaded: p.uploaded,
              }))
            : [];
        }),
      ),
    rejected$: combineLatest([tracker$, tick$]).pipe(map(([t]) => (t ? t.metrics.clusterRejects() : NO_REJECTS))),
    now$: tick$.pipe(map(() => deps.scheduler.now())),
    command(c) {
      // Commands run one after another: a Stop never overlaps a Start.
      busy = busy.then(async () => {
        switch (c.type) {
          case 'start':
            await start();
            break;
          case 'stop':
            await stop();
            break;
          case 'cut': {
            const t = tracker$.value;
            if (!t) return;
            t.setCut(c.on);
            patch({ cut: c.on });
            break;
          }
          case 'quit':
            await stop();
            break;
        }
      });
      return busy;
    },
    current: () => tracker$.value,
  };
}

const NO_REJECTS = Object.freeze(Object.fromEntries(CLUSTER_REJECTS.map((r) => [r, 0])) as Record<ClusterReject, number>);

const instanceRow = ({ id, role, epoch, lastSeen }: InstanceRow): InstanceRow => ({ id, role, epoch, lastSeen });

const bySize = (a: SwarmRow, b: SwarmRow): number =>
  b.seeders + b.leechers - (a.seeders + a.leechers) || (a.infoHash < b.infoHash ? -1 : 1);

/** Peer IDs usually start with a readable client tag (-qB4650-): show it, hex-escape the rest. */
function printable(id: Buffer): string {
  let out = '';
  for (const b of id) out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
  return out;
}
