/**
 * Prometheus metrics of one tracker instance (prom-client). A factory with its own Registry, never prom-client's
 * default one: two instances in one process (tests, the UI's Start/Stop) must not share or clash over series.
 * Gauges of the read model (swarms, peers) are sampled by a callback at scrape time, so nothing is counted on the
 * request path. Durations are given by the caller in seconds, measured on the caller's clock.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CLUSTER_REJECTS, type ClusterReject } from './domain/reasons.js';
import { Action, HEADER_LEN, OFF_ACTION } from './protocol/constants.js';

export type Protocol = 'udp' | 'http';
/** `other`: a request whose action could not be told (undecodable datagram, unknown HTTP path). */
export type RequestAction = 'connect' | 'announce' | 'scrape' | 'other';
/** `election`: dropped because an election is under way; `not_serving`: not Master, cut off, or stopping. */
export type DropReason = 'election' | 'not_serving';
export type RoundOutcome = 'committed' | 'aborted';
export type SwarmStats = { readonly swarms: number; readonly peers: number };
/** Running totals for the terminal UI's charts: plain numbers, read without touching prom-client. */
export type RequestTotals = {
  readonly udp: number;
  readonly http: number;
  /** Rounds observed through `observeCommit`, and their summed latency in seconds. */
  readonly commits: number;
  readonly commitSeconds: number;
};

export type MetricsOptions = {
  /** Prepended to every metric name; default `tracker_`. */
  readonly prefix?: string;
  /** Labels put on every series, e.g. `{ tracker_id: '3' }` when several instances share one scrape job. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Read at scrape time for the swarms and peers gauges; without it they stay 0. */
  readonly swarmStats?: () => SwarmStats;
  /** COMMITs this instance published whose broker receipt its clients still wait for (sampled at scrape time). */
  readonly awaitingReceipt?: () => number;
  /** Also prom-client's process and Node.js series (RSS, heap, GC, event-loop lag), unprefixed as usual. */
  readonly process?: boolean;
  /** The round log's size (sampled at scrape time). */
  readonly roundLog?: () => { readonly rounds: number; readonly bytes: number };
  /** Seconds the SQLite file trails the repository (sampled at scrape time). */
  readonly mirrorLag?: () => number;
};

/** State transfers (direction: sent by a Master, received by a joiner; kind: snapshot or log). */
export type TransferMetrics = {
  readonly transfers: Counter<'direction' | 'kind' | 'outcome'>;
  readonly records: Counter<'direction' | 'kind'>;
  readonly bytes: Counter<'direction' | 'kind'>;
  readonly seconds: Histogram<'direction' | 'kind'>;
};

export type Metrics = {
  readonly registry: Registry;
  /** Labels: protocol (udp|http), action. */
  readonly requests: Counter<'protocol' | 'action'>;
  /** Requests answered with an error (BEP 15 error or HTTP failure reason) or refused; labels as `requests`. */
  readonly errors: Counter<'protocol' | 'action'>;
  /** Labels: protocol, reason (election|not_serving). */
  readonly repliesDropped: Counter<'protocol' | 'reason'>;
  /** Label: outcome (committed|aborted). Counted by the Master, once per round. */
  readonly consensusRounds: Counter<'outcome'>;
  /** Changes per consensus round. */
  readonly batchSize: Histogram;
  /** From PREPARE to COMMIT of a round, seconds. Observe through `observeCommit` so the UI's totals see it too. */
  readonly commitLatency: Histogram;
  /** One committed round's latency, seconds: the histogram plus the plain totals. */
  observeCommit(seconds: number): void;
  /** The plain per-request tallies (all actions) and commit totals: a few additions, no allocation of series. */
  totals(): RequestTotals;
  readonly elections: Counter;
  readonly epoch: Gauge;
  readonly liveInstances: Gauge;
  readonly swarms: Gauge;
  readonly peers: Gauge;
  readonly awaitingReceipt: Gauge;
  readonly mirrorLag: Gauge;
  /** One SQLite transaction (one committed batch or a run of them), seconds. */
  readonly sqliteWrite: Histogram;
  /** Mirror write failures (episodes: retries of the same failure are not counted) and recoveries. */
  readonly mirrorFailures: Counter;
  readonly mirrorRecoveries: Counter;
  readonly transfer: TransferMetrics;
  /** Cluster messages refused where they entered from the broker. */
  countClusterReject(reason: ClusterReject): void;
  /** The same counts as plain numbers by reason (for view models: read without the registry's promises). */
  clusterRejects(): Readonly<Record<ClusterReject, number>>;
  /**
   * Typed shortcuts for the per-request counters: plain counts, added to the series at scrape time (no label
   * hashing or allocation per call on the UDP hot path).
   * Equivalent to `requests.inc({ protocol, action })` etc.
   */
  countRequest(protocol: Protocol, action: RequestAction): void;
  countError(protocol: Protocol, action: RequestAction): void;
  countDropped(protocol: Protocol, reason: DropReason): void;
  /** The Content-Type of `text()`. */
  readonly contentType: string;
  /** The Prometheus text exposition of every series. */
  text(): Promise<string>;
};

const PROTOCOLS: readonly Protocol[] = ['udp', 'http'];
const ACTIONS: readonly RequestAction[] = ['connect', 'announce', 'scrape', 'other'];
const DROP_REASONS: readonly DropReason[] = ['election', 'not_serving'];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];
const COMMIT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const SQLITE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

const TRANSFER_BUCKETS = [0.01, 0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];

function transferMetrics(p: string, registers: Registry[], roundLog: MetricsOptions['roundLog']): TransferMetrics {
  readGauge(`${p}round_log_rounds`, 'Committed rounds kept for catch-up from the log.', registers, roundLog && (() => roundLog().rounds));
  readGauge(`${p}round_log_bytes`, 'Bytes of the rounds kept for catch-up from the log.', registers, roundLog && (() => roundLog().bytes));
  const labelNames = ['direction', 'kind'] as const;
  return {
    transfers: new Counter({
      name: `${p}state_transfers_total`,
      help: 'State transfers ended, by direction (sent, received), kind (snapshot, log) and outcome.',
      labelNames: ['direction', 'kind', 'outcome'] as const,
      registers,
    }),
    records: new Counter({
      name: `${p}state_transfer_records_total`,
      help: 'Records (peers, or changes of logged rounds) transferred.',
      labelNames,
      registers,
    }),
    bytes: new Counter({
      name: `${p}state_transfer_bytes_total`,
      help: 'Bytes of state transfer parts (before base64).',
      labelNames,
      registers,
    }),
    seconds: new Histogram({
      name: `${p}state_transfer_seconds`,
      help: 'Duration of a completed state transfer, from the first part to the last acknowledgement.',
      labelNames,
      buckets: TRANSFER_BUCKETS,
      registers,
    }),
  };
}

/**
 * A gauge read from `read` at scrape time (nothing done on the request path); without `read` it stays 0. A failing
 * source leaves the last value: a scrape must not fail because one gauge could not be read.
 */
function readGauge(name: string, help: string, registers: Registry[], read: (() => number) | undefined): Gauge {
  return new Gauge({
    name,
    help,
    registers,
    collect(this: Gauge): void {
      if (!read) return;
      try {
        this.set(read());
      } catch {
        /* keep the previous value */
      }
    },
  });
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (opts.labels) registry.setDefaultLabels({ ...opts.labels });
  const p = opts.prefix ?? 'tracker_';
  const registers = [registry];
  const stats = opts.swarmStats;
  const stat = (pick: (s: SwarmStats) => number): (() => number) | undefined => (stats ? () => pick(stats()) : undefined);

  // Per-request counts are plain numbers, handed to prom-client when it collects the series: its inc() hashes
  // the labels and allocates on every call (about 200 bytes), which on the UDP hot path meant garbage-collector
  // pauses. Every series exists at 0 from the start, so rate() has a series before the first event.
  const tally = <L extends string>(c: Counter<'protocol' | L>, label: L, values: readonly string[]) => {
    const index = new Map<string, number>(values.map((v, i) => [v, i]));
    const counts = new Float64Array(PROTOCOLS.length * values.length);
    const told = new Float64Array(counts.length);
    const children = PROTOCOLS.flatMap((protocol) =>
      values.map((v) => {
        const child = c.labels({ protocol, [label]: v } as Partial<Record<'protocol' | L, string>>);
        child.inc(0);
        return child;
      }),
    );
    return {
      count: (protocol: Protocol, v: string): void => {
        const i = index.get(v);
        if (i !== undefined) counts[(protocol === 'udp' ? 0 : 1) * values.length + i]++;
      },
      /** Everything counted for one protocol, all labels together. */
      total: (protocol: Protocol): number => {
        let n = 0;
        const from = (protocol === 'udp' ? 0 : 1) * values.length;
        for (let i = from; i < from + values.length; i++) n += counts[i]!;
        return n;
      },
      flush: (): void => {
        for (let i = 0; i < counts.length; i++) {
          if (counts[i]! > told[i]!) children[i]!.inc(counts[i]! - told[i]!);
          told[i] = counts[i]!;
        }
      },
    };
  };
  // Each counter's collect hands over only its own tally (called at scrape time, after the tallies exist).
  const requests: Counter<'protocol' | 'action'> = new Counter({
    name: `${p}requests_total`,
    help: 'Requests received, by protocol and action.',
    labelNames: ['protocol', 'action'] as const,
    registers,
    collect: (): void => requestTally.flush(),
  });
  const errors: Counter<'protocol' | 'action'> = new Counter({
    name: `${p}request_errors_total`,
    help: 'Requests answered with an error or refused, by protocol and action.',
    labelNames: ['protocol', 'action'] as const,
    registers,
    collect: (): void => errorTally.flush(),
  });
  const repliesDropped: Counter<'protocol' | 'reason'> = new Counter({
    name: `${p}replies_dropped_total`,
    help: 'Requests left unanswered because this instance was not serving (during an election, or not Master).',
    labelNames: ['protocol', 'reason'] as const,
    registers,
    collect: (): void => droppedTally.flush(),
  });
  const requestTally = tally(requests, 'action', ACTIONS);
  const errorTally = tally(errors, 'action', ACTIONS);
  const droppedTally = tally(repliesDropped, 'reason', DROP_REASONS);
  const countRequest = requestTally.count;
  const countError = errorTally.count;
  const countDropped = droppedTally.count;

  const clusterRejected = new Counter({
    name: `${p}cluster_messages_rejected_total`,
    help: 'Cluster messages refused on arrival, by reason (bad_tag, replayed, unknown_sender, malformed, bad_changes, bad_snapshot).',
    labelNames: ['reason'] as const,
    registers,
  });
  for (const reason of CLUSTER_REJECTS) clusterRejected.inc({ reason: metricLabel(reason) }, 0);
  const rejects = Object.fromEntries(CLUSTER_REJECTS.map((r) => [r, 0])) as Record<ClusterReject, number>;

  const commitLatency = new Histogram({
    name: `${p}commit_latency_seconds`,
    help: 'Time from PREPARE to COMMIT of a round.',
    buckets: COMMIT_BUCKETS,
    registers,
  });
  let commits = 0;
  let commitSeconds = 0;

  const m: Metrics = {
    registry,
    requests,
    errors,
    repliesDropped,
    countRequest,
    countError,
    countDropped,
    consensusRounds: new Counter({
      name: `${p}consensus_rounds_total`,
      help: 'Consensus rounds led by this instance, by outcome.',
      labelNames: ['outcome'] as const,
      registers,
    }),
    batchSize: new Histogram({ name: `${p}batch_size`, help: 'Changes per consensus round.', buckets: BATCH_BUCKETS, registers }),
    commitLatency,
    observeCommit: (seconds) => {
      commitLatency.observe(seconds);
      commits++;
      commitSeconds += seconds;
    },
    totals: () => ({ udp: requestTally.total('udp'), http: requestTally.total('http'), commits, commitSeconds }),
    elections: new Counter({
      name: `${p}elections_total`,
      help: 'Elections observed: each new Master epoch this instance adopted.',
      registers,
    }),
    epoch: new Gauge({ name: `${p}epoch`, help: 'Current epoch (term) of the Master this instance follows.', registers }),
    liveInstances: new Gauge({
      name: `${p}live_instances`,
      help: 'Instances heard from within the keepalive timeout, this one included.',
      registers,
    }),
    swarms: readGauge(
      `${p}swarms`,
      'Swarms in the read model.',
      registers,
      stat((s) => s.swarms),
    ),
    peers: readGauge(
      `${p}peers`,
      'Peers in the read model.',
      registers,
      stat((s) => s.peers),
    ),
    awaitingReceipt: readGauge(
      `${p}commits_awaiting_receipt`,
      "COMMITs published whose broker receipt this instance's clients still wait for.",
      registers,
      opts.awaitingReceipt,
    ),
    sqliteWrite: new Histogram({
      name: `${p}sqlite_write_seconds`,
      help: 'Duration of one SQLite transaction (every change of the mirror lag window, each row once).',
      buckets: SQLITE_BUCKETS,
      registers,
    }),
    mirrorFailures: new Counter({
      name: `${p}sqlite_mirror_failures_total`,
      help: 'Times the SQLite file refused a write (a full disk); changes are refused until a retry succeeds.',
      registers,
    }),
    mirrorRecoveries: new Counter({
      name: `${p}sqlite_mirror_recoveries_total`,
      help: 'Times a retried write succeeded after a failure, bringing the file back to the repository.',
      registers,
    }),
    transfer: transferMetrics(p, registers, opts.roundLog),
    mirrorLag: readGauge(
      `${p}sqlite_mirror_lag_seconds`,
      'How far the SQLite file trails the repository: age of the oldest committed batch not yet written.',
      registers,
      opts.mirrorLag,
    ),
    countClusterReject: (reason) => {
      rejects[reason]++;
      clusterRejected.inc({ reason: metricLabel(reason) });
    },
    clusterRejects: () => ({ ...rejects }),
    contentType: registry.contentType,
    text: () => registry.metrics(),
  };

  for (const outcome of ['committed', 'aborted'] as const) m.consensusRounds.inc({ outcome }, 0);
  if (opts.process) collectDefaultMetrics({ register: registry });
  return m;
}

/**
 * Wrap `fn` so each call's duration is observed in seconds, on the injected millisecond clock (e.g.
 * `performance.now`); the result is passed through untouched. For SQLite writes:
 * `writeBatch: timed(sqlite.writeBatch, (s) => metrics.sqliteWrite.observe(s), () => performance.now())`.
 */
export function timed<A extends unknown[], R>(
  fn: (...args: A) => R,
  observe: (seconds: number) => void,
  nowMs: () => number,
): (...args: A) => R {
  return (...args: A): R => {
    const t0 = nowMs();
    const r = fn(...args);
    observe((nowMs() - t0) / 1000);
    return r;
  };
}

/** The action of a UDP request datagram (BEP 15 header: action u32 at offset 8), for the `action` label. */
export function udpRequestAction(data: Buffer): RequestAction {
  if (data.length < HEADER_LEN) return 'other';
  switch (data.readUInt32BE(OFF_ACTION)) {
    case Action.connect:
      return 'connect';
    case Action.announce:
      return 'announce';
    case Action.scrape:
      return 'scrape';
    default:
      return 'other';
  }
}

/** Reasons are kebab-case values in the code; Prometheus label values here use snake_case like the rest. */
const metricLabel = (reason: string): string => reason.replaceAll('-', '_');
