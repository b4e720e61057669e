/**
 * Every duration of the cluster's control plane, derived from the two flags `--heartbeat` and `--vote-timeout`,
 * and beside them the inequalities that make "never two Masters answering" true. Pure: no I/O, no clock.
 *
 * The safety argument, measured from the send time T of the last keepalive of a Master that the others heard
 * (the broker's delivery delay only makes the others later, so it is left out in their favour):
 * - the Master, cut off from the broker, sends its next keepalive at T + 1 interval; that one never comes back;
 *   the first liveness check more than the echo timeout after that send isolates it (it stops answering):
 *   at the latest T + heartbeat + echo timeout + one check period;
 * - the others declare it down at the first check more than `downAfterMs` after they heard T (strictly after
 *   T + downAfterMs; later still when their own keepalive is in flight then: one hears itself before it judges),
 *   elect (the bully round adds no delay when nobody is higher), and the winner waits `fenceMs` more before
 *   binding the service address: strictly after T + downAfterMs + fenceMs.
 * `safetyMargins` states these and the two rules they rest on; `spec/domain/timing.spec.ts` checks them for the
 * whole range of `--heartbeat` and drives the Heartbeat actor through both sides in virtual time.
 */

/** An instance not heard for this many keepalive intervals is down. */
export const DOWN_AFTER_INTERVALS = 2;
/** Liveness checks per interval (how late a silence or a missing echo is noticed). */
const CHECKS_PER_INTERVAL = 8;
/** A Master's own keepalive not back within this fraction of an interval: it is cut off. */
const ECHO_TIMEOUT_INTERVALS = 0.4;
/** A new Master waits this fraction of an interval before binding the service address. */
const FENCE_INTERVALS = 0.25;
/** A starting instance listens this long before its first election (more than one interval: it hears everyone). */
const DISCOVERY_INTERVALS = 2.5;
/**
 * After a broker switch an instance listens this long before it takes its former role back (more than one
 * interval: it hears every live instance, a Master of a newer epoch included, before it answers again).
 */
const RESUME_INTERVALS = 1.25;

export type ClusterTiming = {
  /** Keepalive period (`--heartbeat`). */
  readonly heartbeatMs: number;
  /** Liveness check period: an eighth of an interval, at least 1 ms. */
  readonly checkEveryMs: number;
  /** Silent this long → down. */
  readonly downAfterMs: number;
  /** Own keepalive not back within this → cut off (a Master stops answering). */
  readonly echoTimeoutMs: number;
  /** A new Master waits this long before binding the service address. */
  readonly fenceMs: number;
  /** Listening at start before the first election (0 when alone). */
  readonly discoveryMs: number;
  /** Listening after a broker switch before taking the former role back. */
  readonly resumeMs: number;
  /** Bully: an ELECTION sent, no ANSWER within this → we are Master. */
  readonly answerTimeoutMs: number;
  /** Bully: an ANSWER received, no COORDINATOR within this → elect again; also how soon a followed Master is looked for. */
  readonly coordinatorTimeoutMs: number;
  /** A state transfer not finished within this is asked for again. */
  readonly syncTimeoutMs: number;
  /** A vote missing after this is an ERROR (`--vote-timeout`). */
  readonly voteTimeoutMs: number;
};

export function clusterTiming(o: { heartbeatMs: number; voteTimeoutMs: number; clustered: boolean }): ClusterTiming {
  const hb = o.heartbeatMs;
  return {
    heartbeatMs: hb,
    checkEveryMs: Math.max(1, Math.floor(hb / CHECKS_PER_INTERVAL)),
    downAfterMs: DOWN_AFTER_INTERVALS * hb,
    echoTimeoutMs: ECHO_TIMEOUT_INTERVALS * hb,
    fenceMs: FENCE_INTERVALS * hb,
    discoveryMs: o.clustered ? DISCOVERY_INTERVALS * hb : 0,
    resumeMs: RESUME_INTERVALS * hb,
    answerTimeoutMs: Math.max(50, hb / 2),
    coordinatorTimeoutMs: 2 * hb,
    syncTimeoutMs: Math.max(10_000, 10 * hb),
    voteTimeoutMs: o.voteTimeoutMs,
  };
}

/**
 * One inequality `latestMs < earliestMs`: the worst-case (latest) moment of what must come first, and the
 * earliest moment of what must come after, both in ms from the same origin. `marginMs` (their difference) is how
 * late timers may run on a loaded machine before the rule breaks; the rule holds when it is above 0.
 */
export type Inequality = { readonly latestMs: number; readonly earliestMs: number; readonly marginMs: number };

export type SafetyMargins = {
  /**
   * A cut-off Master stops answering before anyone else can take the service address. From the send of its last
   * keepalive the others heard: it stops at the latest after one more beat (the first keepalive that is not
   * echoed), the echo timeout, and one check period (the check that notices it may come up to a period late);
   * another instance answers at the earliest after `downAfterMs` of silence (its own check can only be later)
   * plus the fence. At 1000 ms: 1000 + 400 + 125 = 1525 < 2000 + 250 = 2250, a margin of 725 ms.
   */
  readonly cutOffBeforeTakeover: Inequality;
  /**
   * The echo watch can fire at all: overdue is measured from the latest keepalive sent, so a check must come more
   * than the echo timeout after a send and before the next send replaces it. Within one interval a check falls
   * after the echo timeout by one check period at the latest. At 1000 ms: 400 + 125 = 525 < 1000 (475 ms).
   */
  readonly echoWatchFires: Inequality;
  /**
   * A starting instance hears a live Master before it stands: it listens `discoveryMs`, and every live instance
   * sends a keepalive each interval (a newcomer that heard nobody would make itself a second Master).
   * At 1000 ms: 1000 < 2500 (1500 ms). Null alone (no broker): there is nobody to hear.
   */
  readonly discoveryHearsMaster: Inequality | null;
  /**
   * A Master resuming after a broker switch hears a Master of a newer epoch (one elected while it was away)
   * before it answers again: every live instance beats each interval. At 1000 ms: 1000 < 1250 (250 ms).
   */
  readonly resumeHearsMaster: Inequality;
};

const inequality = (latestMs: number, earliestMs: number): Inequality => ({ latestMs, earliestMs, marginMs: earliestMs - latestMs });

export function safetyMargins(t: ClusterTiming): SafetyMargins {
  return {
    cutOffBeforeTakeover: inequality(t.heartbeatMs + t.echoTimeoutMs + t.checkEveryMs, t.downAfterMs + t.fenceMs),
    echoWatchFires: inequality(t.echoTimeoutMs + t.checkEveryMs, t.heartbeatMs),
    discoveryHearsMaster: t.discoveryMs > 0 ? inequality(t.heartbeatMs, t.discoveryMs) : null,
    resumeHearsMaster: inequality(t.heartbeatMs, t.resumeMs),
  };
}

/** The names of the rules that do not hold (empty: safe). */
export function unsafeRules(t: ClusterTiming): (keyof SafetyMargins)[] {
  const m = safetyMargins(t);
  return (Object.keys(m) as (keyof SafetyMargins)[]).filter((k) => {
    const r = m[k];
    return r !== null && !(r.marginMs > 0);
  });
}
