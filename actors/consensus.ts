/**
 * Consensus actor: the seed's prepare / vote / commit-or-abort, batched. The Master turns many proposals into
 * one round; each voter answers OK when it can store the batch in order, ERROR otherwise; a strict majority of
 * the voters (counted at round start, the Master included; or of the configured cluster size) commits, anything
 * else aborts. A missing vote after
 * the timeout counts as ERROR. Slaves stage a prepared batch and persist it only on COMMIT. Every round has a
 * sequence number; a Slave that sees a gap asks for resynchronisation instead of guessing.
 */
import type { Observable } from 'rxjs';
import type { RejectReason, ResyncReason, VoteError } from '../src/domain/reasons.js';
import { type ActorDeps, runActor, type Timer } from './actor.js';

export type ConsensusConfig = {
  readonly self: number;
  /** Largest number of items in one round; the rest wait for the next. */
  readonly maxBatch: number;
  /** Proposals waiting beyond this are refused (bounded queue; the client gets an error and retries). */
  readonly maxQueue: number;
  readonly voteTimeoutMs: number;
  /**
   * The number of instances the cluster is built for. When set, a round needs OK from more than half of that
   * many, however many are live: a minority cut off by a partition can never commit. Absent or 0: a majority of
   * the live, synchronised voters (a lone survivor still commits).
   */
  readonly clusterSize?: number;
};

type Round<T> = {
  readonly seq: number;
  readonly items: readonly T[];
  readonly voters: readonly number[];
  readonly ok: readonly number[];
  readonly err: readonly number[];
};

export type ConsensusState<T> = {
  readonly role: 'master' | 'slave' | 'off';
  readonly epoch: number;
  /** Voting members as last reported (live and synchronised), the Master included. */
  readonly members: readonly number[];
  /** Highest committed sequence number. */
  readonly applied: number;
  /** Can this instance store right now (its SQLite works)? Its own vote. */
  readonly healthy: boolean;
  readonly queue: readonly T[];
  readonly round: Round<T> | null;
  /** The staged round and the Master that prepared it (only that Master's COMMIT applies it). */
  readonly staged: { readonly epoch: number; readonly seq: number; readonly items: readonly T[]; readonly from?: number } | null;
  /**
   * The Master a Slave follows, when the election named one: its PREPAREs only. Two instances can briefly both
   * claim the same epoch (each cut off from the other); rounds of the wrong one must not be mixed in.
   */
  readonly master?: number | null;
};

export type ConsensusInput<T> =
  | { type: 'propose'; items: readonly T[] }
  | { type: 'members'; members: readonly number[] }
  | { type: 'role'; role: 'master' | 'slave' | 'off'; epoch: number; master?: number | null }
  | { type: 'applied'; seq: number }
  | { type: 'health'; ok: boolean }
  | { type: 'prepare'; from: number; epoch: number; seq: number; items: readonly T[] }
  | { type: 'vote'; from: number; epoch: number; seq: number; ok: boolean }
  | { type: 'commit'; from: number; epoch: number; seq: number }
  | { type: 'abort'; from: number; epoch: number; seq: number }
  | { type: 'vote-timeout'; seq: number; epoch: number };

export type ConsensusOutput<T> =
  /** Cluster traffic to publish. */
  | { type: 'send-prepare'; epoch: number; seq: number; items: readonly T[] }
  | { type: 'send-vote'; epoch: number; to: number; seq: number; ok: boolean; error?: VoteError }
  /** `again`: a COMMIT sent once more after a broker switch (its round was applied already). */
  | { type: 'send-commit'; epoch: number; seq: number; again?: boolean }
  | { type: 'send-abort'; epoch: number; seq: number }
  /** Persist and apply these items as sequence `seq` (both roles). */
  /** `lead`: this instance led the round (its clients are waiting on it); false for a Slave's COMMIT. */
  | { type: 'apply'; seq: number; items: readonly T[]; lead: boolean }
  /** These items will not be stored: answer their clients with an error. */
  | { type: 'reject'; items: readonly T[]; reason: RejectReason }
  /** A gap or unknown outcome: this Slave needs the Master's state. */
  | { type: 'resync'; reason: ResyncReason };

type Effect<T> = ConsensusOutput<T> | Timer<ConsensusInput<T>>;
type Step<T> = readonly [ConsensusState<T>, Effect<T>[]];

export function initialConsensus<T>(): ConsensusState<T> {
  return { role: 'off', epoch: 0, members: [], applied: 0, healthy: true, queue: [], round: null, staged: null };
}

export function consensusTransition<T>(cfg: ConsensusConfig) {
  /** The configured cluster size, 0 when the majority is counted over the live voters. */
  const fixedSize = cfg.clusterSize ?? 0;
  const startRound = (s: ConsensusState<T>, out: Effect<T>[]): ConsensusState<T> => {
    if (s.role !== 'master' || s.round || s.queue.length === 0) return s;
    const items = s.queue.slice(0, cfg.maxBatch);
    const seq = s.applied + 1;
    const voters = s.members.includes(cfg.self) ? s.members : [...s.members, cfg.self];
    const round: Round<T> = { seq, items, voters, ok: s.healthy ? [cfg.self] : [], err: s.healthy ? [] : [cfg.self] };
    const next = { ...s, queue: s.queue.slice(items.length), round };
    // PREPARE goes out even when the Master is the only voter: instances that are synchronised but not yet
    // counted as voters (a join in progress) must see every round, or they would find a gap later.
    out.push({ type: 'send-prepare', epoch: s.epoch, seq, items });
    if (voters.length > 1 || fixedSize > 1)
      out.push({ type: 'timer', after: cfg.voteTimeoutMs, input: { type: 'vote-timeout', seq, epoch: s.epoch } });
    return decide(next, out, false);
  };

  /** Commit on a strict majority of OK; abort once that can no longer happen (or on timeout). */
  const decide = (s: ConsensusState<T>, out: Effect<T>[], timedOut: boolean): ConsensusState<T> => {
    const r = s.round;
    if (!r) return s;
    const n = r.voters.length;
    const size = Math.max(n, fixedSize);
    if (r.ok.length * 2 > size) {
      // COMMIT leaves before the batch is applied (and its clients answered): if this process dies in between,
      // the Slaves still learn the outcome of a round a client may have seen acknowledged.
      out.push({ type: 'send-commit', epoch: s.epoch, seq: r.seq });
      out.push({ type: 'apply', seq: r.seq, items: r.items, lead: true });
      return startRound({ ...s, applied: r.seq, round: null }, out);
    }
    // Abort as soon as even every outstanding vote could not make a majority. With a configured size, members
    // not yet known to be live may still vote (a Slave whose keepalive has not arrived yet): wait for them.
    const possible = (fixedSize > 0 ? size : n) - r.err.length;
    if (timedOut || possible * 2 <= size) {
      out.push({ type: 'send-abort', epoch: s.epoch, seq: r.seq });
      out.push({ type: 'reject', items: r.items, reason: 'not-committed' });
      // The sequence number is reused: an aborted round never happened.
      return startRound({ ...s, round: null }, out);
    }
    return s;
  };

  /** Leaving the Master role: nothing in flight can be answered any more. */
  const dropMasterWork = (s: ConsensusState<T>, out: Effect<T>[]): ConsensusState<T> => {
    const pending = [...(s.round ? s.round.items : []), ...s.queue];
    if (pending.length > 0) out.push({ type: 'reject', items: pending, reason: 'failover' });
    return { ...s, round: null, queue: [] };
  };

  /**
   * Becoming Master. Back in the same epoch (a broker switch, nobody else took over): send our last COMMIT again,
   * so Slaves that staged that round but lost its COMMIT with the old broker apply it. In a new epoch: a round we
   * staged whose outcome we never learnt may have been acknowledged by the old Master (it answers only once the
   * broker holds the COMMIT, and a majority staged it): commit it again first, instead of dropping it.
   */
  const takeOver = (s: ConsensusState<T>, epoch: number, out: Effect<T>[]): ConsensusState<T> => {
    if (epoch === s.epoch) {
      if (s.applied > 0) out.push({ type: 'send-commit', epoch, seq: s.applied, again: true });
      return s;
    }
    if (!s.staged || s.staged.seq !== s.applied + 1) return { ...s, staged: null };
    return { ...s, queue: [...s.staged.items, ...s.queue], staged: null };
  };

  return (s: ConsensusState<T>, input: ConsensusInput<T>): Step<T> => {
    const out: Effect<T>[] = [];
    switch (input.type) {
      case 'propose': {
        if (s.role !== 'master') {
          out.push({ type: 'reject', items: input.items, reason: 'not-master' });
          return [s, out];
        }
        const room = Math.max(0, cfg.maxQueue - s.queue.length);
        const taken = input.items.slice(0, room);
        if (taken.length < input.items.length) {
          out.push({ type: 'reject', items: input.items.slice(room), reason: 'busy' });
        }
        return [startRound({ ...s, queue: [...s.queue, ...taken] }, out), out];
      }
      case 'members':
        return [{ ...s, members: input.members }, out];
      case 'health':
        return [{ ...s, healthy: input.ok }, out];
      case 'applied':
        // State transfer installed a snapshot up to `seq`.
        return [{ ...s, applied: input.seq, staged: null }, out];
      case 'role': {
        let next: ConsensusState<T> = s;
        if (s.role === 'master' && (input.role !== 'master' || input.epoch !== s.epoch)) next = dropMasterWork(s, out);
        if (input.role === 'master' && s.role !== 'master') next = takeOver(next, input.epoch, out);
        // A staged round survives other role changes: its COMMIT may still come (a Master resuming after a broker
        // switch sends its last one again), and a PREPARE of the same or the next number replaces it.
        return [startRound({ ...next, role: input.role, epoch: input.epoch, master: input.master ?? null }, out), out];
      }
      case 'prepare': {
        if (s.role !== 'slave' || input.epoch < s.epoch) return [s, out];
        const master = s.master ?? null;
        if (master !== null && input.from !== master) return [s, out];
        const vote = (ok: boolean, error?: VoteError): void => {
          out.push({ type: 'send-vote', epoch: input.epoch, to: input.from, seq: input.seq, ok, ...(error ? { error } : {}) });
        };
        const epoch = Math.max(s.epoch, input.epoch);
        if (s.staged && s.staged.seq < input.seq) {
          // The earlier round's outcome never reached us: we cannot know whether to apply it.
          vote(false, { kind: 'unknown-outcome' });
          out.push({ type: 'resync', reason: { kind: 'missed-outcome', seq: s.staged.seq } });
          return [{ ...s, epoch, staged: null }, out];
        }
        if (input.seq !== s.applied + 1) {
          vote(false, { kind: 'gap', have: s.applied, got: input.seq });
          if (input.seq > s.applied + 1) out.push({ type: 'resync', reason: { kind: 'gap', at: s.applied + 1 } });
          return [{ ...s, epoch }, out];
        }
        // A Slave whose mirror refuses writes votes ERROR but still stages the round: if the others commit it, it
        // applies it from memory (the mirror keeps it pending) instead of asking for a state transfer per round.
        vote(s.healthy, s.healthy ? undefined : { kind: 'cannot-store' });
        return [{ ...s, epoch, staged: { epoch: input.epoch, seq: input.seq, items: input.items, from: input.from } }, out];
      }
      case 'vote': {
        const r = s.round;
        if (s.role !== 'master' || !r || input.epoch !== s.epoch || input.seq !== r.seq) return [s, out];
        // With a configured size any instance may vote: one that votes OK has staged this very round in order.
        const counted = r.voters.includes(input.from) || (fixedSize > 0 && input.from !== cfg.self);
        if (!counted || r.ok.includes(input.from) || r.err.includes(input.from)) return [s, out];
        const round: Round<T> = input.ok ? { ...r, ok: [...r.ok, input.from] } : { ...r, err: [...r.err, input.from] };
        return [decide({ ...s, round }, out, false), out];
      }
      case 'vote-timeout': {
        if (!s.round || s.round.seq !== input.seq || s.epoch !== input.epoch) return [s, out];
        return [decide(s, out, true), out];
      }
      case 'commit': {
        // Also while off (resuming after a broker switch): a COMMIT of the round we staged is its outcome.
        if (s.role === 'master' || input.epoch < s.epoch) return [s, out];
        // A COMMIT from another claimant of the epoch (neither the Master we follow nor the one that prepared our
        // staged round) is not ours to act on.
        const followed = s.master ?? null;
        if (followed !== null && input.from !== followed && input.from !== s.staged?.from) return [s, out];
        if (!s.staged || s.staged.seq !== input.seq || s.staged.epoch !== input.epoch || (s.staged.from ?? input.from) !== input.from) {
          // Only a Slave asks: an instance still starting or syncing sees every round go by without its PREPARE.
          if (input.seq > s.applied && s.role === 'slave')
            out.push({ type: 'resync', reason: { kind: 'commit-without-prepare', seq: input.seq } });
          return [s, out];
        }
        out.push({ type: 'apply', seq: input.seq, items: s.staged.items, lead: false });
        return [{ ...s, applied: input.seq, staged: null }, out];
      }
      case 'abort': {
        if (s.role !== 'slave' || !s.staged || s.staged.seq !== input.seq) return [s, out];
        return [{ ...s, staged: null }, out];
      }
    }
  };
}

export function consensusActor<T>(
  input$: Observable<ConsensusInput<T>>,
  deps: ActorDeps<ConsensusConfig, ConsensusState<T>>,
): Observable<ConsensusOutput<T>> {
  return runActor(initialConsensus<T>(), consensusTransition<T>(deps.config), input$, deps.scheduler, deps.onState);
}
