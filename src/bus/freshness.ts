/**
 * Freshness of signed cluster messages: a recorded message must not be believed twice. Every instance signs with
 * a random incarnation chosen at start and a counter that goes up with each message (auth.ts); a receiver keeps,
 * per sender ID, the incarnations it has heard and the last counter of each, and drops what is not newer.
 *
 * The rules, for a message of sender S, incarnation I, counter C:
 *   - I known for S: fresh when C is above the last counter heard from I (then that counter moves up), else
 *     `replayed`.
 *   - S never heard (or forgotten): its first message is believed, of whatever kind (a joiner hears the Master's
 *     keepalive, or its COORDINATOR, first: trust on first use).
 *   - S known, I new: only through the join path, a keepalive, and only one from a later start (its `startedAt`
 *     above that of every incarnation of S heard with a keepalive): a restarted instance with the same ID joins
 *     at once; a replayed keepalive of an earlier incarnation is `replayed` however old. Any other kind of
 *     message of an incarnation not yet heard is `unknown-sender`.
 *   - S is this instance: its own incarnation is known from the start (a replay of our own keepalive must not
 *     fake the echo that proves the broker carries us); any other incarnation of our ID is heard through its
 *     keepalives whatever its start, so the duplicate-ID guard (actors/heartbeat.ts) still sees a live holder.
 * Older incarnations are kept beside the newer one (each with its own counter): a second instance started by
 * mistake with a live instance's ID must not make the live one's messages look stale; it refuses to run, and
 * the live one carries on.
 *
 * Bounded: at most `maxIncarnations` per sender and `maxSenders` senders, the least recently heard forgotten
 * first (never our own incarnation). A forgotten incarnation stays refused while a later one of its sender is
 * known (its keepalives are older starts; anything else is `unknown-sender`).
 *
 * Pure: `admit` returns the next state and the verdict. `createFreshness` holds the state for the cluster inbox.
 */
import type { Stamp } from './auth.js';

export type FreshnessVerdict = 'fresh' | 'replayed' | 'unknown-sender';

/** What the receiver knows of a message: sender, stamp, and the sender's start time when it is a keepalive. */
export type Arrival = { readonly from: number; readonly stamp: Stamp; readonly startedAt: number | null };

type Heard = { readonly inc: string; readonly last: number; readonly startedAt: number | null; readonly at: number };

export type FreshnessState = {
  readonly self: number;
  readonly own: string;
  readonly senders: ReadonlyMap<number, readonly Heard[]>;
  /** Arrivals admitted so far: the order "least recently heard" is judged by. */
  readonly tick: number;
};

export type FreshnessLimits = { readonly maxSenders: number; readonly maxIncarnations: number };

export const FRESHNESS_LIMITS: FreshnessLimits = { maxSenders: 1024, maxIncarnations: 4 };

export function initialFreshness(self: number, own: { readonly inc: string; readonly startedAt: number }): FreshnessState {
  return { self, own: own.inc, senders: new Map([[self, [{ inc: own.inc, last: 0, startedAt: own.startedAt, at: 0 }]]]), tick: 0 };
}

export function admit(
  s: FreshnessState,
  a: Arrival,
  limits: FreshnessLimits = FRESHNESS_LIMITS,
): readonly [FreshnessState, FreshnessVerdict] {
  const { from, stamp, startedAt } = a;
  const tick = s.tick + 1;
  const heard = s.senders.get(from) ?? [];
  const i = heard.findIndex((h) => h.inc === stamp.inc);
  if (i >= 0) {
    const h = heard[i]!;
    if (stamp.ctr <= h.last) return [s, 'replayed'];
    const next = heard.slice();
    next[i] = { inc: h.inc, last: stamp.ctr, startedAt: h.startedAt ?? startedAt, at: tick };
    return [withSender(s, from, next, tick, limits), 'fresh'];
  }
  if (heard.length > 0) {
    if (startedAt === null) return [s, 'unknown-sender'];
    if (from !== s.self) {
      let latest = Number.NEGATIVE_INFINITY;
      for (const h of heard) if (h.startedAt !== null && h.startedAt > latest) latest = h.startedAt;
      if (startedAt <= latest) return [s, 'replayed'];
    }
  }
  const added = [...heard, { inc: stamp.inc, last: stamp.ctr, startedAt, at: tick }];
  while (added.length > limits.maxIncarnations) {
    let oldest = -1;
    for (let j = 0; j < added.length; j++) {
      if (from === s.self && added[j]!.inc === s.own) continue;
      if (oldest < 0 || added[j]!.at < added[oldest]!.at) oldest = j;
    }
    added.splice(oldest, 1);
  }
  return [withSender(s, from, added, tick, limits), 'fresh'];
}

function withSender(s: FreshnessState, from: number, heard: readonly Heard[], tick: number, limits: FreshnessLimits): FreshnessState {
  const senders = new Map(s.senders);
  senders.delete(from); // re-inserted last: the map's order is least recently heard first
  senders.set(from, heard);
  for (const id of senders.keys()) {
    if (senders.size <= limits.maxSenders) break;
    if (id !== s.self) senders.delete(id);
  }
  return { ...s, senders, tick };
}

/** The state held for one instance's inbox. */
export type Freshness = { admit(a: Arrival): FreshnessVerdict; readonly state: () => FreshnessState };

export function createFreshness(
  self: number,
  own: { readonly inc: string; readonly startedAt: number },
  limits: FreshnessLimits = FRESHNESS_LIMITS,
): Freshness {
  let s = initialFreshness(self, own);
  return {
    admit(a) {
      const [next, verdict] = admit(s, a, limits);
      s = next;
      return verdict;
    },
    state: () => s,
  };
}
