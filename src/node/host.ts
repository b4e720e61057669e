/**
 * Keeps one tracker instance alive across the UI's Start/Stop commands and exposes its streams (status, live
 * instances, sampled swarms) whether or not an instance is running. The UI reads these and sends commands;
 * it never touches actor internals.
 */
import {
  BehaviorSubject,
  combineLatest,
  map,
  type Observable,
  of,
  type SchedulerLike,
  Subscription,
  scan,
  share,
  switchMap,
  timer,
} from 'rxjs';
import type { Role } from '../bus/messages.js';
import { type Member, trackMembers } from '../domain/members.js';
import { clientBreakdown, clientFamily, peerClient } from '../domain/peer-client.js';
import { OFF_DOWN, OFF_LEFT, offsetOf, slabOf } from '../domain/peer-table.js';
import { CHART_SAMPLES, EMPTY_HISTORY, type History, rebase, record, type Sample, type Totals } from '../domain/rates.js';
import { CLUSTER_REJECTS, type ClusterReject } from '../domain/reasons.js';
import { getSwarm, leechers, peerAt, peerCount, tables } from '../domain/swarm.js';
import type { PeerState, Swarm, SwarmStore } from '../domain/types.js';
import { addressText } from '../protocol/compact.js';
import type { Config } from '../config/index.js';
import { startTracker, type Tracker, type TrackerDeps, type TransferView } from './tracker.js';

export type { TransferProgress, TransferView } from './tracker.js';

export type Status = {
  readonly running: boolean;
  readonly role: Role;
  readonly epoch: number;
  readonly master: number | null;
  readonly cut: boolean;
  readonly error: string | null;
  /** The broker this instance is on now (one of `--broker`'s list); null while down or alone. */
  readonly broker?: string | null;
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

/**
 * One other instance as the Trackers tab shows it: live (`down` null), or missing since `down` (ms on the
 * scheduler's clock) with the role and epoch it last announced, kept until it is heard again.
 */
export type InstanceRow = Member;

export type PeerRow = {
  /** The ID's printable characters, others as dots. */
  readonly peerId: string;
  /** The client decoded from the ID (`qBittorrent 4.6.5`), or its printable prefix. */
  readonly client: string;
  /** What the per-client breakdown counts it under: the client's name, or `other`. */
  readonly family: string;
  readonly address: string;
  readonly downloaded: bigint;
  readonly left: bigint;
  readonly uploaded: bigint;
};

/** What the peer list shows of a swarm: its first page of peers, and the count and clients of all of them. */
export type PeerView = {
  readonly total: number;
  readonly clients: readonly { readonly name: string; readonly count: number }[];
  readonly rows: readonly PeerRow[];
};

/** The view of a whole list of rows (tests, small swarms). */
export const peerView = (rows: readonly PeerRow[], page = rows.length): PeerView => ({
  total: rows.length,
  clients: clientBreakdown(rows.map((r) => r.family)),
  rows: rows.slice(0, page),
});

export type UiCommand = { type: 'start' } | { type: 'stop' } | { type: 'cut'; on: boolean } | { type: 'quit' };

export type Host = {
  readonly status$: Observable<Status>;
  readonly live$: Observable<readonly InstanceRow[]>;
  /**
   * The live charts: one sample per `sampleMs` (requests per second by protocol, mean commit latency, live
   * instances) from the metrics' plain totals, the last minute of them; sampled while an instance runs.
   */
  readonly charts$: Observable<readonly Sample[]>;
  /** Sampled every `sampleMs` while subscribed: the repository is read on the UI's clock, never per request. */
  readonly swarms$: Observable<readonly SwarmRow[]>;
  /** The first `page` peers of a swarm, with the count and client breakdown of all, sampled like swarms$. */
  peers$(infoHash: string, page: number): Observable<PeerView>;
  /**
   * Cluster messages this instance refused, by reason (what /metrics counts as
   * tracker_cluster_messages_rejected_total), sampled on the host's tick; all zero while no instance runs.
   */
  readonly rejected$: Observable<Readonly<Record<ClusterReject, number>>>;
  /** State transfers under way (taking one, or sending them), sampled on the host's tick. */
  readonly transfers$: Observable<TransferView>;
  readonly now$: Observable<number>;
  command(c: UiCommand): Promise<void>;
  current(): Tracker | null;
};

/**
 * Without a registered .torrent, a peer's downloaded + left is the content's size: the largest seen, read from
 * the packed records (two u32 halves each, no object per peer; exact below 2^53 bytes, plenty for a size).
 */
export function derivedSize(store: SwarmStore, s: Swarm): bigint | null {
  let largest = 0;
  for (const [p, t] of tables(store, s)) {
    for (let i = 0; i < t.count; i++) {
      const d = slabOf(p, t, i);
      const at = offsetOf(p, t, i);
      const total =
        d.readUInt32LE(at + OFF_DOWN + 4) * 2 ** 32 +
        d.readUInt32LE(at + OFF_DOWN) +
        d.readUInt32LE(at + OFF_LEFT + 4) * 2 ** 32 +
        d.readUInt32LE(at + OFF_LEFT);
      if (total > largest) largest = total;
    }
  }
  return largest > 0 ? BigInt(Math.min(largest, Number.MAX_SAFE_INTEGER)) : null;
}

export function swarmRow(store: SwarmStore, s: Swarm, derived: (s: Swarm) => bigint | null = (x) => derivedSize(store, x)): SwarmRow {
  const sized = s.size ?? derived(s);
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
  const charts$ = new BehaviorSubject<History>(EMPTY_HISTORY);
  let sampling = new Subscription();

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
    t.broker$.subscribe((broker) => {
      if (tracker$.value === t) patch({ broker });
    });
    void t.fatal.then((f) => deps.onFatal?.(f.code, f.reason));
    // The charts read a few numbers once per tick, off the request path; a restarted instance starts a new baseline.
    let live = 1;
    sampling = new Subscription();
    sampling.add(
      t.live$.subscribe((l) => {
        live = 1 + l.filter((e) => e.id !== cfg.id).length;
      }),
    );
    const read = (): Totals => ({ at: deps.scheduler.now(), live, ...t.metrics.totals() });
    sampling.add(chartSamples(read, sampleMs, deps.scheduler, rebase(charts$.value)).subscribe((h) => charts$.next(h)));
  };

  const stop = async (): Promise<void> => {
    const t = tracker$.value;
    if (!t) return;
    tracker$.next(null);
    sampling.unsubscribe();
    await t.stop();
    patch({ running: false, role: 'stopped', epoch: 0, master: null, cut: false });
  };

  return {
    status$: status$.asObservable(),
    live$: tracker$.pipe(
      switchMap((t) =>
        t ? t.live$.pipe(scan((rows: readonly InstanceRow[], live) => trackMembers(rows, live, deps.scheduler.now()), [])) : of([]),
      ),
    ),
    charts$: charts$.pipe(map((h) => h.samples)),
    // Rows from the counters kept as changes are applied; a derived size (a scan of the swarm's records) is
    // refreshed at most every SIZE_REFRESH_MS per swarm: the tab costs what it shows, not what the tracker holds.
    swarms$: combineLatest([tracker$, tick$]).pipe(
      scan(
        (acc: { rows: readonly SwarmRow[]; sizes: SizeCache }, [t]) => {
          if (!t) return { rows: [], sizes: new Map() };
          const store = t.repo.store;
          const now = deps.scheduler.now();
          const sized = (s: Swarm): bigint | null => cachedSize(acc.sizes, s, now, () => derivedSize(store, s));
          return { rows: [...store.swarms.values()].map((s) => swarmRow(store, s, sized)).sort(bySize), sizes: acc.sizes };
        },
        { rows: [], sizes: new Map() },
      ),
      map((acc) => acc.rows),
    ),
    peers$: (infoHash, page) =>
      combineLatest([tracker$, tick$]).pipe(
        scan((clients: ClientCache, [t]) => {
          const s = t ? getSwarm(t.repo.store, Buffer.from(infoHash, 'hex')) : undefined;
          if (!s || !t) return { ...clients, view: EMPTY_PEERS };
          const now = deps.scheduler.now();
          const fresh = clients.at !== null && now - clients.at < CLIENTS_REFRESH_MS && clients.view.total === peerCount(s);
          const breakdown = fresh ? clients.view.clients : clientBreakdown(peerFamilies(t.repo.store, s));
          const view = { total: peerCount(s), clients: breakdown, rows: firstPeers(t.repo.store, s, page).map(peerRow) };
          return { at: fresh ? clients.at : now, view };
        }, NO_CLIENTS),
        map((c) => c.view),
      ),
    rejected$: combineLatest([tracker$, tick$]).pipe(map(([t]) => (t ? t.metrics.clusterRejects() : NO_REJECTS))),
    transfers$: combineLatest([tracker$, tick$]).pipe(map(([t]) => (t ? t.transfers() : NO_TRANSFERS))),
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

/**
 * Every `periodMs` on the scheduler, read the totals and add a sample to `seed` (the first reading only sets the
 * baseline). The reading is a few additions on the metrics' plain tallies, never anything on the request path.
 */
export function chartSamples(
  read: () => Totals,
  periodMs: number,
  scheduler: SchedulerLike,
  seed: History = EMPTY_HISTORY,
  keep = CHART_SAMPLES,
): Observable<History> {
  return timer(0, periodMs, scheduler).pipe(scan((h: History) => record(h, read(), keep), seed));
}
const NO_TRANSFERS: TransferView = { receiving: null, sending: [] };
const EMPTY_PEERS: PeerView = { total: 0, clients: [], rows: [] };

/** A derived size is recomputed at most this often per swarm. */
const SIZE_REFRESH_MS = 30_000;
/** The client breakdown of the swarm on view: recomputed at most this often, or when its count changes. */
const CLIENTS_REFRESH_MS = 10_000;

type SizeCache = Map<string, { size: bigint | null; at: number }>;
function cachedSize(cache: SizeCache, s: Swarm, now: number, compute: () => bigint | null): bigint | null {
  const hit = cache.get(s.key);
  if (hit && now - hit.at < SIZE_REFRESH_MS) return hit.size;
  const size = compute();
  cache.set(s.key, { size, at: now });
  return size;
}

type ClientCache = { at: number | null; view: PeerView };
const NO_CLIENTS: ClientCache = { at: null, view: EMPTY_PEERS };

/** Every peer's client family, from its ID in place (one subarray each, no peer object). */
function peerFamilies(store: SwarmStore, s: Swarm): string[] {
  const out: string[] = [];
  for (const [p, t] of tables(store, s)) {
    for (let i = 0; i < t.count; i++) {
      const at = offsetOf(p, t, i);
      out.push(clientFamily(peerClient(slabOf(p, t, i).subarray(at, at + 20))));
    }
  }
  return out;
}

/** The first `n` peers of the swarm, IPv4 first, as objects: only these are made. */
function firstPeers(store: SwarmStore, s: Swarm, n: number): PeerState[] {
  const out: PeerState[] = [];
  for (const [p, t] of tables(store, s)) for (let i = 0; i < t.count && out.length < n; i++) out.push(peerAt(p, t, i));
  return out;
}

function peerRow(p: PeerState): PeerRow {
  const client = peerClient(p.peerId);
  return {
    peerId: printable(p.peerId),
    client: client.version ? `${client.name} ${client.version}` : client.name,
    family: clientFamily(client),
    address: `${addressText(p.ip)}:${p.port}`,
    downloaded: p.downloaded,
    left: p.left,
    uploaded: p.uploaded,
  };
}
const NO_REJECTS = Object.freeze(Object.fromEntries(CLUSTER_REJECTS.map((r) => [r, 0])) as Record<ClusterReject, number>);

const bySize = (a: SwarmRow, b: SwarmRow): number =>
  b.seeders + b.leechers - (a.seeders + a.leechers) || (a.infoHash < b.infoHash ? -1 : 1);

/** Peer IDs usually start with a readable client tag (-qB4650-): show it, hex-escape the rest. */
function printable(id: Buffer): string {
  let out = '';
  for (const b of id) out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
  return out;
}
