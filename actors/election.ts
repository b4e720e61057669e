/**
 * Election actor: the bully algorithm over the live set the Heartbeat actor keeps.
 * - Start-up: listen for one discovery window; join a live Master (state transfer first), or elect.
 * - An election: ELECTION to every higher eligible instance; an ANSWER means a higher one takes over (wait for
 *   its COORDINATOR, else retry); no answer within the timeout, or no higher instance, means we are Master.
 * - Each Master gets an epoch one above every epoch seen; anything from an older epoch is ignored.
 * - Over a broker (`confirmClaims`) a claim is only a claim until the broker carries our COORDINATOR back to us:
 *   the topic orders every claim, so the first of an epoch wins everywhere and a claimant cut off from the broker
 *   (its claim does not return) never calls itself Master. Two instances cannot both hold one epoch.
 * - Only a synchronised instance (Slave or Master) may stand: a newcomer cannot win with an empty repository.
 * A new healthy instance does not depose a live Master (elections happen at start-up and on failure only).
 */
import type { Observable } from 'rxjs';
import type { Role } from '../src/bus/messages.js';
import { type ActorDeps, runActor, type Timer } from './actor.js';
import type { LiveEntry } from './heartbeat.js';

export type ElectionConfig = {
  readonly self: number;
  readonly discoveryMs: number;
  readonly answerTimeoutMs: number;
  readonly coordinatorTimeoutMs: number;
  readonly syncTimeoutMs: number;
  /** After a broker switch: how long to listen before taking the former role back. */
  readonly resumeMs: number;
  /**
   * Instances the cluster is built for (0 or absent: no quorum). When set, an instance only makes itself Master
   * while it hears more than half of them (itself included): one cut off with a minority waits instead of
   * announcing a Master that could never commit and whose COORDINATOR, delivered late, would depose a good one.
   */
  readonly clusterSize?: number;
  /**
   * Over a broker: Master only once our own COORDINATOR has come back through the topic, before any other claim of
   * that epoch (the broker's order decides; a later claim of an epoch already followed is ignored). The wait is
   * bounded by `coordinatorTimeoutMs` for liveness only (a claim lost with its broker connection): one confirmed
   * late is still first in the broker's order. Off for a lone instance (no broker, nobody to race).
   */
  readonly confirmClaims?: boolean;
};

export type ElectionState = {
  readonly role: Role;
  readonly epoch: number;
  readonly master: number | null;
  readonly live: readonly LiveEntry[];
  /** Whether this instance holds a complete repository (it may stand in an election). */
  readonly synced: boolean;
  /** Increments with every election attempt, so stale timers are ignored. */
  readonly attempt: number;
  /** The role held when the broker was lost: taken back after the switch if nothing else changed. */
  readonly held?: Held | null;
  /** This instance's last commit (sequence number), to compare with the others' keepalives. */
  readonly applied?: number;
  /** The epoch we claimed and whose COORDINATOR has not come back yet (`confirmClaims`). */
  readonly claiming?: number | null;
  /** The Master's last commit when its keepalive showed us behind it (a `lag-check` is due). */
  readonly lagMark?: number | null;
  /** Parts of the state transfer installed so far: the sync timeout counts from the last one. */
  readonly syncParts?: number;
};

export type Held = { readonly role: 'master' | 'slave'; readonly epoch: number; readonly master: number };

export type ElectionInput =
  | { type: 'start' }
  | { type: 'discovered'; attempt: number }
  | { type: 'live'; live: readonly LiveEntry[] }
  | { type: 'down'; entry: LiveEntry }
  | { type: 'election'; from: number; epoch: number }
  | { type: 'answer'; from: number; to: number; epoch: number }
  | { type: 'coordinator'; from: number; epoch: number }
  | { type: 'answer-timeout'; attempt: number }
  | { type: 'coordinator-timeout'; attempt: number }
  /** Our COORDINATOR of `epoch` did not come back through the broker in time. */
  | { type: 'claim-timeout'; epoch: number }
  /** `parts`: the transfer's progress when the timer was set (a part since re-armed it). */
  | { type: 'sync-timeout'; attempt: number; parts?: number }
  /** A part of the state transfer was installed: a transfer that moves does not time out. */
  | { type: 'sync-progress' }
  /** A part could not be installed: ask for the state again at once. */
  | { type: 'sync-failed' }
  /** Some time after following a Master: is it in the live set at all? */
  | { type: 'master-check'; attempt: number }
  /** State transfer installed: this instance now holds the Master's repository. */
  | { type: 'synced' }
  /** Consensus found a gap: fetch the Master's state again. */
  | { type: 'resync' }
  /** This instance stored a round (or a snapshot) up to `applied`. */
  | { type: 'progress'; applied: number }
  /** A coordinator timeout after a Slave saw its Master's keepalive at commit `mark`, beyond its own. */
  | { type: 'lag-check'; mark: number }
  /** Cut off (our echo stopped, a simulated failure) or back. */
  | { type: 'isolate' }
  | { type: 'rejoin' }
  /** The broker connection was lost (`suspend`) and is back (`resume`, maybe on another broker of the list). */
  | { type: 'suspend' }
  | { type: 'resume' }
  /** `last`: the second look; nothing heard by then means electing. */
  | { type: 'resume-check'; attempt: number; last?: boolean };

export type ElectionOutput =
  | { type: 'send-election'; epoch: number }
  | { type: 'send-answer'; to: number; epoch: number }
  | { type: 'send-coordinator'; epoch: number }
  | { type: 'send-sync-request'; to: number; epoch: number }
  | { type: 'role'; role: Role; epoch: number; master: number | null };

type Effect = ElectionOutput | Timer<ElectionInput>;

/**
 * A claim cut short (isolated, broker lost) is void, but its epoch is kept: others may have followed it, and our
 * keepalives must then show that epoch without the Master role, so they elect instead of waiting for us.
 */
const voidClaim = (s: ElectionState): Pick<ElectionState, 'epoch' | 'claiming'> => ({
  epoch: Math.max(s.epoch, s.claiming ?? 0),
  claiming: null,
});
const fresh = (r: Role): boolean => r === 'starting' || r === 'electing';

/**
 * Who may stand: when anyone live holds a repository, only holders (a newcomer cannot win with nothing);
 * when nobody does (the whole cluster is starting), every starting or electing instance.
 */
function standing(s: ElectionState, self: number): { self: boolean; others: readonly LiveEntry[] } {
  const holders = s.live.filter((e) => e.synced && e.role !== 'syncing' && e.role !== 'isolated');
  // Among holders only the most current may stand: one back from a partition, behind the commits the others
  // acknowledged meanwhile, must not win and hand its older repository to everyone (keepalives carry `applied`).
  const applied = s.applied ?? 0;
  const mostCurrent = holders.every((e) => e.applied <= applied);
  if (s.synced || holders.length > 0) return { self: s.synced && mostCurrent, others: holders.filter((e) => e.applied >= applied) };
  return { self: fresh(s.role) || s.role === 'slave', others: s.live.filter((e) => fresh(e.role) && e.id !== self) };
}

export function initialElection(): ElectionState {
  return { role: 'starting', epoch: 0, master: null, live: [], synced: false, attempt: 0 };
}

/** The steps the transition is made of (each returns the next state and pushes its effects). */
function electionSteps(cfg: ElectionConfig) {
  const maxEpoch = (s: ElectionState): number => Math.max(s.epoch, ...s.live.map((e) => e.epoch));
  const announce = (s: ElectionState, out: Effect[]): ElectionState => {
    out.push({ type: 'role', role: s.role, epoch: s.epoch, master: s.master });
    return s;
  };

  const becomeMaster = (s: ElectionState, out: Effect[]): ElectionState => {
    const epoch = maxEpoch(s) + 1;
    out.push({ type: 'send-coordinator', epoch });
    if (!cfg.confirmClaims) return announce({ ...s, role: 'master', epoch, master: cfg.self, synced: true }, out);
    out.push({ type: 'timer', after: cfg.coordinatorTimeoutMs, input: { type: 'claim-timeout', epoch } });
    // A Master re-asserting above a stale epoch keeps answering in its own meanwhile.
    if (s.role === 'master' || (s.role === 'electing' && s.master === null)) return { ...s, claiming: epoch };
    return announce({ ...s, role: 'electing', master: null, claiming: epoch }, out);
  };

  /** Our COORDINATOR is back, before anyone else's of its epoch: we are Master of it. */
  const confirmClaim = (s: ElectionState, epoch: number, out: Effect[]): ElectionState =>
    s.claiming === epoch && s.role !== 'isolated' && s.role !== 'stopped'
      ? announce({ ...s, claiming: null, role: 'master', epoch, master: cfg.self, synced: true }, out)
      : s;

  /**
   * Our claim did not come back in time (cut off, or the broker stalled): not Master. Its epoch is kept (some may
   * have heard it, so the next claim goes above it), and we look again after a coordinator timeout.
   */
  const claimLapsed = (s: ElectionState, epoch: number, out: Effect[]): ElectionState => {
    if (s.claiming !== epoch) return s;
    if (s.role === 'master') return { ...s, claiming: null };
    const attempt = s.attempt + 1;
    out.push({ type: 'timer', after: cfg.coordinatorTimeoutMs, input: { type: 'coordinator-timeout', attempt } });
    return announce({ ...s, claiming: null, epoch: Math.max(s.epoch, epoch), role: 'electing', master: null, attempt }, out);
  };

  const sync = (s: ElectionState, master: number, out: Effect[]): ElectionState => {
    const attempt = s.attempt + 1;
    out.push({ type: 'send-sync-request', to: master, epoch: s.epoch });
    out.push({ type: 'timer', after: cfg.syncTimeoutMs, input: { type: 'sync-timeout', attempt } });
    out.push({ type: 'timer', after: cfg.coordinatorTimeoutMs, input: { type: 'master-check', attempt } });
    return announce({ ...s, role: 'syncing', master, synced: false, attempt, syncParts: 0 }, out);
  };

  const quorate = (s: ElectionState): boolean => !cfg.clusterSize || (s.live.length + 1) * 2 > cfg.clusterSize;
  /** No quorum in sight: stay electing and look again after a coordinator timeout. */
  const waitForQuorum = (s: ElectionState, out: Effect[]): ElectionState => {
    const attempt = s.attempt + 1;
    out.push({ type: 'timer', after: cfg.coordinatorTimeoutMs, input: { type: 'coordinator-timeout', attempt } });
    return s.role === 'electing' && s.master === null
      ? { ...s, attempt }
      : announce({ ...s, role: 'electing', master: null, attempt }, out);
  };
  /** Nobody above us answers: take over, if a quorum is heard. */
  const claim = (s: ElectionState, out: Effect[]): ElectionState => (quorate(s) ? becomeMaster(s, out) : waitForQuorum(s, out));

  const elect = (s: ElectionState, out: Effect[]): ElectionState => {
    const attempt = s.attempt + 1;
    const stand = standing(s, cfg.self);
    // A live Master of our epoch or a later one (we were cut off from it, or behind it): join it.
    const master = s.live.find((e) => e.role === 'master' && e.epoch >= s.epoch && e.id !== cfg.self);
    if (master && !stand.self) return sync({ ...s, epoch: master.epoch }, master.id, out);
    if (!stand.self) {
      // Others hold data; the highest of them must win. Wait for its COORDINATOR, then sync from it.
      out.push({ type: 'timer', after: cfg.coordinatorTimeoutMs, input: { type: 'coordinator-timeout', attempt } });
      return announce({ ...s, role: 'electing', master: null, attempt }, out);
    }
    const higher = stand.others.filter((e) => e.id > cfg.self);
    if (higher.length === 0) return claim({ ...s, attempt }, out);
    out.push({ type: 'send-election', epoch: maxEpoch(s) });
    out.push({ type: 'timer', after: cfg.answerTimeoutMs, input: { type: 'answer-timeout', attempt } });
    return announce({ ...s, role: 'electing', master: null, attempt }, out);
  };

  /**
   * After a broker switch, with what was heard during the resume window: a Master of a newer epoch is joined as a
   * newcomer (our data may be stale); otherwise a Master takes its role back in the same epoch (if it hears a
   * quorum), a Slave follows its Master again (if it is back, or coming back), and anything else elects.
   */
  const resumeHeld = (s: ElectionState, held: Held, last: boolean, out: Effect[]): ElectionState => {
    const newer = s.live.find((e) => e.epoch > held.epoch && e.role === 'master');
    if (newer) return sync({ ...s, epoch: newer.epoch }, newer.id, out);
    if (held.role === 'master' && !s.live.some((e) => e.epoch > held.epoch) && quorate(s)) {
      return announce({ ...s, role: 'master', epoch: held.epoch, master: cfg.self }, out);
    }
    const back = s.live.find((e) => e.id === held.master && e.epoch === held.epoch && (e.role === 'master' || e.role === 'resuming'));
    if (held.role === 'slave' && back) {
      const attempt = s.attempt + 1;
      out.push({ type: 'timer', after: cfg.coordinatorTimeoutMs, input: { type: 'master-check', attempt } });
      return watchLag(announce({ ...s, role: 'slave', epoch: held.epoch, master: held.master, attempt }, out), out);
    }
    if (!last) {
      // Those we need may be coming back a little later than we did (each cycles its broker list on its own):
      // look once more before electing.
      const attempt = s.attempt + 1;
      out.push({ type: 'timer', after: cfg.resumeMs, input: { type: 'resume-check', attempt, last: true } });
      return { ...s, held, attempt };
    }
    return elect({ ...s, held: null, epoch: Math.max(s.epoch, held.epoch), master: null }, out);
  };

  /**
   * A Slave behind its Master's last commit (the keepalive says so) looks again a coordinator timeout later: the
   * COMMIT may be on its way. Still behind then, it missed a round (e.g. it was resuming while the round went by)
   * that nobody repeats when no other round follows: it fetches the Master's state.
   */
  const watchLag = (s: ElectionState, out: Effect[]): ElectionState => {
    if (s.role !== 'slave' || s.lagMark != null) return s;
    const m = s.live.find((e) => e.id === s.master && e.role === 'master');
    if (!m || m.applied <= (s.applied ?? 0)) return s;
    out.push({ type: 'timer', after: cfg.coordinatorTimeoutMs, input: { type: 'lag-check', mark: m.applied } });
    return { ...s, lagMark: m.applied };
  };
  const lagCheck = (s: ElectionState, mark: number, out: Effect[]): ElectionState => {
    const next = { ...s, lagMark: null };
    if (s.role !== 'slave' || s.master === null || (s.applied ?? 0) >= mark) return watchLag(next, out);
    return sync(next, s.master, out);
  };

  const rejoin = (s: ElectionState, out: Effect[]): readonly [ElectionState, Effect[]] => {
    // Our repository may be stale after being cut off: come back as a newcomer.
    const attempt = s.attempt + 1;
    out.push({ type: 'timer', after: cfg.discoveryMs, input: { type: 'discovered', attempt } });
    return [announce({ ...s, role: 'starting', synced: false, master: null, attempt, held: null, claiming: null }, out), out];
  };

  return { announce, becomeMaster, confirmClaim, claimLapsed, sync, claim, elect, resumeHeld, watchLag, lagCheck, rejoin };
}

export function electionTransition(cfg: ElectionConfig) {
  const { announce, becomeMaster, confirmClaim, claimLapsed, sync, claim, elect, resumeHeld, watchLag, lagCheck, rejoin } =
    electionSteps(cfg);
  return (s: ElectionState, input: ElectionInput): readonly [ElectionState, Effect[]] => {
    const out: Effect[] = [];
    const cut = s.role === 'isolated' || s.role === 'stopped';
    switch (input.type) {
      case 'start': {
        const attempt = s.attempt + 1;
        out.push({ type: 'timer', after: cfg.discoveryMs, input: { type: 'discovered', attempt } });
        return [announce({ ...s, role: 'starting', master: null, attempt }, out), out];
      }
      case 'discovered': {
        if (s.role !== 'starting' || input.attempt !== s.attempt) return [s, out];
        const master = s.live.find((e) => e.role === 'master');
        return [master ? sync({ ...s, epoch: Math.max(s.epoch, master.epoch) }, master.id, out) : elect(s, out), out];
      }
      case 'live': {
        // The Master we follow may show a newer epoch in its keepalive than we have seen: adopt it, so older
        // epochs stay fenced off and the next election counts above it.
        const followed = input.live.find((e) => e.id === s.master && e.role === 'master');
        const epoch = followed && s.role !== 'master' ? Math.max(s.epoch, followed.epoch) : s.epoch;
        const next = { ...s, live: input.live, epoch };
        // A Master that hears a higher epoch from an instance that is not Master (one that made itself Master while
        // cut off, then came back as a newcomer) takes an epoch above it: otherwise that instance would ignore our
        // rounds as coming from an old epoch. A live Master of a higher epoch is left to depose us by COORDINATOR.
        const above = s.claiming ?? s.epoch;
        if (s.role === 'master' && input.live.some((e) => e.epoch > above && e.role !== 'master')) return [becomeMaster(next, out), out];
        // Our Master (or the one we sync from) is alive but says it is no longer Master (it isolated itself, or its
        // claim lapsed after we followed it): as good as down. Only a
        // keepalive of the Master's own epoch or later counts: one sent before it won (still 'starting', epoch
        // below ours) can arrive after its COORDINATOR and must not start an election against a healthy Master.
        // A Master that is resuming after a broker switch has not given its role up.
        // A Slave resuming hears its Master again, still Master of the epoch it followed: its role back at once
        // (the resume window is for a Master, which must know nobody took over).
        const held = s.role === 'resuming' && s.held?.role === 'slave' ? s.held : null;
        if (held && input.live.some((e) => e.id === held.master && e.role === 'master' && e.epoch === held.epoch))
          return [resumeHeld({ ...next, held: null }, held, false, out), out];
        const former = input.live.find((e) => e.id === s.master && e.role !== 'master' && e.role !== 'resuming' && e.epoch >= s.epoch);
        if ((s.role === 'slave' || s.role === 'syncing') && former)
          return [elect({ ...next, master: null, epoch: Math.max(epoch, former.epoch) }, out), out];
        return [watchLag(next, out), out];
      }
      case 'down': {
        const live = s.live.filter((e) => e.id !== input.entry.id);
        // Keep the dead instance's epoch in mind: the next Master's epoch must exceed it.
        const next = { ...s, live, epoch: s.role === 'master' ? s.epoch : Math.max(s.epoch, input.entry.epoch) };
        if (cut || s.role === 'starting') return [next, out];
        if (input.entry.id === s.master && s.role !== 'master') return [elect({ ...next, master: null }, out), out];
        return [next, out];
      }
      case 'election': {
        if (cut || input.from === cfg.self || input.epoch < s.epoch - 1) return [s, out];
        // An election of a cluster that has had a Master (epoch above 0) is among instances holding data: a
        // newcomer without any stays out of it, whatever its ID, and waits for the COORDINATOR.
        if (!s.synced && input.epoch > 0) return [s, out];
        if (input.from < cfg.self && standing(s, cfg.self).self) {
          out.push({ type: 'send-answer', to: input.from, epoch: s.epoch });
          if (s.role === 'master') {
            out.push({ type: 'send-coordinator', epoch: s.epoch });
            return [s, out];
          }
          // A starting instance stands when its discovery window closes, with everything it heard by then.
          if (s.role !== 'electing' && s.role !== 'starting') return [elect(s, out), out];
        }
        return [s, out];
      }
      case 'answer': {
        if (s.role !== 'electing' || input.to !== cfg.self) return [s, out];
        // A higher instance took over: the answer timeout of this attempt must not make us Master any more.
        const attempt = s.attempt + 1;
        out.push({ type: 'timer', after: cfg.coordinatorTimeoutMs, input: { type: 'coordinator-timeout', attempt } });
        return [{ ...s, attempt }, out];
      }
      case 'answer-timeout':
        if (s.role !== 'electing' || input.attempt !== s.attempt) return [s, out];
        return [claim(s, out), out];
      case 'coordinator-timeout':
        if (s.role !== 'electing' || input.attempt !== s.attempt) return [s, out];
        return [elect(s, out), out];
      case 'claim-timeout':
        return [claimLapsed(s, input.epoch, out), out];
      case 'coordinator': {
        if (input.from === cfg.self) return [confirmClaim(s, input.epoch, out), out];
        if (cut || input.epoch < s.epoch) return [s, out];
        if (input.epoch === s.epoch && s.master === input.from) return [s, out];
        // Ours is above an older claim still travelling: everyone will take ours.
        if (s.claiming != null && input.epoch < s.claiming) return [s, out];
        // The broker delivered another claim of this epoch first: that one won, here as everywhere.
        if (cfg.confirmClaims && input.epoch === s.epoch && s.master !== null) return [s, out];
        if (s.role === 'master' && input.epoch === s.epoch && input.from < cfg.self) return [s, out];
        const next = { ...s, epoch: input.epoch, master: input.from, claiming: null };
        // A deposed Master may hold commits the new one lacks or the reverse: take the new Master's state.
        if (!s.synced || s.role === 'syncing' || s.role === 'master') return [sync(next, input.from, out), out];
        const attempt = s.attempt + 1;
        out.push({ type: 'timer', after: cfg.coordinatorTimeoutMs, input: { type: 'master-check', attempt } });
        return [announce({ ...next, role: 'slave', attempt }, out), out];
      }
      case 'sync-progress': {
        if (s.role !== 'syncing') return [s, out];
        const parts = (s.syncParts ?? 0) + 1;
        out.push({ type: 'timer', after: cfg.syncTimeoutMs, input: { type: 'sync-timeout', attempt: s.attempt, parts } });
        return [{ ...s, syncParts: parts }, out];
      }
      case 'sync-timeout':
        if (s.role !== 'syncing' || input.attempt !== s.attempt || (input.parts ?? 0) !== (s.syncParts ?? 0)) return [s, out];
        return [s.master !== null && s.live.some((e) => e.id === s.master) ? sync(s, s.master, out) : elect(s, out), out];
      case 'master-check':
        // A Master followed on its COORDINATOR whose keepalive we never heard (it died at once) never goes
        // "down" in the live set: without this check we would follow it forever.
        if (input.attempt !== s.attempt || (s.role !== 'slave' && s.role !== 'syncing') || s.master === null) return [s, out];
        if (s.live.some((e) => e.id === s.master)) return [s, out];
        return [elect({ ...s, master: null }, out), out];
      case 'progress':
        return [{ ...s, applied: input.applied }, out];
      case 'lag-check':
        return [lagCheck(s, input.mark, out), out];
      case 'synced':
        if (s.role !== 'syncing') return [s, out];
        return [watchLag(announce({ ...s, role: 'slave', synced: true }, out), out), out];
      case 'sync-failed':
        if (s.role !== 'syncing' || s.master === null) return [s, out];
        return [sync(s, s.master, out), out];
      case 'resync':
        if (s.role !== 'slave' || s.master === null) return [s, out];
        return [sync(s, s.master, out), out];
      case 'isolate':
      case 'suspend': {
        // Cut off (our echo stopped, the broker connection is lost, or a simulated cut): not answering, but the
        // role is remembered. The live set is kept: the Heartbeat actor empties it itself when it is muted (lost
        // broker), and keeps it current when only our echo stopped; coming back needs it to find the Master.
        if (cut) return [s, out];
        const holds = s.synced && (s.role === 'master' || s.role === 'slave') && s.master !== null;
        const held: Held | null = holds
          ? { role: s.role as Held['role'], epoch: s.epoch, master: s.master! }
          : s.role === 'resuming'
            ? (s.held ?? null)
            : null;
        return [announce({ ...s, role: 'isolated', master: null, attempt: s.attempt + 1, held, ...voidClaim(s) }, out), out];
      }
      case 'resume':
      case 'rejoin': {
        // Back (on a broker, or our echo is): a role held listens for the resume window and is taken back if
        // nothing changed meanwhile; none held means a newcomer's start.
        if (s.role !== 'isolated') return [s, out];
        if (!s.held) return rejoin(s, out);
        const attempt = s.attempt + 1;
        out.push({ type: 'timer', after: cfg.resumeMs, input: { type: 'resume-check', attempt } });
        return [announce({ ...s, role: 'resuming', attempt }, out), out];
      }
      case 'resume-check':
        if (s.role !== 'resuming' || input.attempt !== s.attempt || !s.held) return [s, out];
        return [resumeHeld({ ...s, held: null }, s.held, input.last === true, out), out];
    }
  };
}

export function electionActor(
  input$: Observable<ElectionInput>,
  deps: ActorDeps<ElectionConfig, ElectionState>,
): Observable<ElectionOutput> {
  return runActor(initialElection(), electionTransition(deps.config), input$, deps.scheduler, deps.onState);
}
