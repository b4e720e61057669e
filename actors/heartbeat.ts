/**
 * Heartbeat actor: publishes this instance's keepalive every interval and keeps the live set. An instance not
 * heard for `downAfterMs` is down; liveness is checked every `checkEveryMs`, so a silent Master is noticed
 * between `downAfterMs` and `downAfterMs + checkEveryMs` after its last keepalive (plus a broker round trip
 * when our own keepalive is in flight then: an instance judges others only while it hears itself). It also spots
 * another live instance using our ID. Every duration comes from `clusterTiming` (src/domain/timing.ts), where the rules
 * that keep two Masters from answering are stated.
 */
import type { Observable } from 'rxjs';
import { interval, map, merge, timer } from 'rxjs';
import type { ClusterMessage, Role } from '../src/bus/messages.js';
import type { ClusterTiming } from '../src/domain/timing.js';
import { type ActorDeps, runActor } from './actor.js';

export type Keepalive = Extract<ClusterMessage, { type: 'keepalive' }>;

export type LiveEntry = {
  readonly id: number;
  readonly role: Role;
  /** Holds a complete repository (may stand in an election). */
  readonly synced: boolean;
  readonly epoch: number;
  readonly applied: number;
  readonly lastSeen: number;
  readonly nonce: string;
  readonly startedAt: number;
};

export type SelfStatus = { readonly role: Role; readonly synced: boolean; readonly epoch: number; readonly applied: number };

export type HeartbeatConfig = {
  readonly self: number;
  readonly nonce: string;
  readonly startedAt: number;
  /** Keepalive period, liveness check period, silence that means down, and the echo timeout. */
  readonly timing: Pick<ClusterTiming, 'heartbeatMs' | 'checkEveryMs' | 'downAfterMs' | 'echoTimeoutMs'>;
  /**
   * Watch our own keepalives come back through the broker. The last one not back within `echoTimeoutMs` means
   * we are cut off (a hung broker connection is noticed by STOMP heartbeats only after seconds): a Master must
   * stop answering before the others, after `downAfterMs` of silence and a fence, can take over
   * (`safetyMargins(t).cutOffBeforeTakeover`). Measured from the send, so a busy event loop that also delayed the
   * send does not count. Checked always while Master, and by anyone before it declares another instance down
   * (a stalled broker silences everyone: an instance that does not hear itself is cut off, it elects nobody).
   * Off for a lone instance (no broker).
   */
  readonly watchEcho?: boolean;
};

export type HeartbeatState = {
  readonly status: SelfStatus;
  readonly live: ReadonlyMap<number, LiveEntry>;
  readonly muted: boolean;
  /** When we last sent a keepalive, and when our own keepalive last came back; `cutOff` while one is overdue. */
  readonly beatAt: number | null;
  readonly echoAt: number | null;
  readonly cutOff: boolean;
  /** When the last check ran: one much later than the next was due means this process was not running. */
  readonly checkedAt?: number | null;
  /**
   * When such a pause was noticed: nobody is judged until our own keepalive sent after it comes back, because
   * what the broker kept for us meanwhile (the others' keepalives) arrives before it. Judged on the stale view, a
   * Slave SIGCONTed after 3 s declared everyone down and could depose a healthy Master.
   */
  readonly pausedAt?: number | null;
};

export type HeartbeatInput =
  | { type: 'beat'; now: number }
  | { type: 'check'; now: number }
  | { type: 'keepalive'; msg: Keepalive; now: number }
  | { type: 'status'; status: SelfStatus }
  /** Simulated failure or lost broker: stop sending, forget everyone (they will be heard again). */
  | { type: 'mute'; muted: boolean };

export type HeartbeatOutput =
  | { type: 'send-keepalive'; msg: Keepalive }
  | { type: 'live'; live: readonly LiveEntry[] }
  /** Every keepalive heard, with fresh last-seen times (for displays; `live` only reports membership changes). */
  | { type: 'seen'; live: readonly LiveEntry[] }
  | { type: 'down'; entry: LiveEntry }
  /** Another live instance uses our ID. `mine` says whether we are the newcomer that must give way. */
  | { type: 'duplicate'; other: LiveEntry; mine: boolean }
  /** Our keepalives stopped (true) or resumed (false) coming back: cut off from the cluster. */
  | { type: 'cut-off'; cut: boolean };

const sorted = (m: ReadonlyMap<number, LiveEntry>): LiveEntry[] => [...m.values()].sort((a, b) => a.id - b.id);

export function heartbeatTransition(cfg: HeartbeatConfig) {
  return (s: HeartbeatState, input: HeartbeatInput): readonly [HeartbeatState, HeartbeatOutput[]] => {
    const out: HeartbeatOutput[] = [];
    switch (input.type) {
      case 'status':
        return [{ ...s, status: input.status }, out];
      case 'mute':
        if (input.muted && s.live.size > 0) out.push({ type: 'live', live: [] });
        // Back on a broker: say so at once, so the others resuming hear us within their window.
        if (!input.muted && s.muted) out.push({ type: 'send-keepalive', msg: keepaliveOf(cfg, s.status) });
        // Muting (or unmuting) restarts the echo watch: nothing is expected back while we are silent.
        return [
          { ...s, muted: input.muted, live: input.muted ? new Map() : s.live, beatAt: null, echoAt: null, cutOff: false, pausedAt: null },
          out,
        ];
      case 'beat':
        if (!s.muted) {
          s = { ...s, beatAt: input.now };
          out.push({ type: 'send-keepalive', msg: keepaliveOf(cfg, s.status) });
        }
        return [s, out];
      case 'check': {
        const paused = s.checkedAt != null && input.now - s.checkedAt > cfg.timing.heartbeatMs;
        let next: HeartbeatState = { ...s, checkedAt: input.now, pausedAt: paused ? input.now : (s.pausedAt ?? null) };
        let expiring = false;
        for (const e of s.live.values()) expiring ||= silent(cfg, e, input.now);
        const pending = s.beatAt !== null && (s.echoAt === null || s.echoAt < s.beatAt);
        const overdue = pending && input.now - s.beatAt! > cfg.timing.echoTimeoutMs;
        const watching = cfg.watchEcho === true && !s.muted && s.echoAt !== null;
        // A Master watches always: it is the one that must not keep answering. Anyone else only before it calls
        // others silent (a Slave busy with a large state transfer may see its echo late, and must not be thrown
        // out for that alone): who cannot hear itself cannot tell a dead Master from a stalled broker.
        if (watching && !s.cutOff && overdue && (s.status.role === 'master' || expiring)) {
          out.push({ type: 'cut-off', cut: true });
          next = { ...next, cutOff: true };
        }
        // Our last keepalive is still on its way: judge others once it is back (below), or once it is overdue.
        if (watching && expiring && pending && !overdue) return [next, out];
        if (next.pausedAt != null) return [next, out];
        return [{ ...next, live: expire(cfg, s.live, input.now, out) }, out];
      }
      case 'keepalive': {
        const m = input.msg;
        if (s.muted) return [s, out];
        if (m.from === cfg.self) {
          if (m.nonce === cfg.nonce) {
            // Our own, echoed by the topic: proof that the broker still carries what we publish. A silence that
            // waited for it is judged now.
            if (s.cutOff) out.push({ type: 'cut-off', cut: false });
            // After a pause, only the echo of a keepalive sent since then ends the wait.
            const pausedAt = s.pausedAt != null && (s.beatAt === null || s.beatAt < s.pausedAt) ? s.pausedAt : null;
            const live = s.cutOff || pausedAt !== null ? s.live : expire(cfg, s.live, input.now, out);
            return [{ ...s, live, echoAt: input.now, cutOff: false, pausedAt }, out];
          }
          const other: LiveEntry = { ...entryOf(m, input.now) };
          // The newcomer gives way: a later start, or on a tie the smaller nonce.
          const mine =
            s.status.role === 'starting' &&
            (m.role !== 'starting' || m.startedAt < cfg.startedAt || (m.startedAt === cfg.startedAt && m.nonce < cfg.nonce));
          out.push({ type: 'duplicate', other, mine });
          return [s, out];
        }
        const before = s.live.get(m.from);
        const entry = entryOf(m, input.now);
        const live = new Map(s.live).set(m.from, entry);
        if (
          !before ||
          before.role !== entry.role ||
          before.synced !== entry.synced ||
          before.epoch !== entry.epoch ||
          before.applied !== entry.applied ||
          before.nonce !== entry.nonce
        ) {
          out.push({ type: 'live', live: sorted(live) });
        } else {
          out.push({ type: 'seen', live: sorted(live) });
        }
        return [{ ...s, live }, out];
      }
    }
  };
}

/** Not heard for `downAfterMs`: down. */
const silent = (cfg: HeartbeatConfig, e: LiveEntry, now: number): boolean => e.lastSeen < now - cfg.timing.downAfterMs;

/** Instances silent for `downAfterMs` leave the live set: a `down` for each, then the new set. */
function expire(
  cfg: HeartbeatConfig,
  live: ReadonlyMap<number, LiveEntry>,
  now: number,
  out: HeartbeatOutput[],
): ReadonlyMap<number, LiveEntry> {
  let next = live;
  for (const e of live.values()) {
    if (silent(cfg, e, now)) {
      if (next === live) next = new Map(live);
      (next as Map<number, LiveEntry>).delete(e.id);
      out.push({ type: 'down', entry: e });
    }
  }
  if (next !== live) out.push({ type: 'live', live: sorted(next) });
  return next;
}

function keepaliveOf(cfg: HeartbeatConfig, status: SelfStatus): Keepalive {
  const { role, epoch, synced, applied } = status;
  return { type: 'keepalive', from: cfg.self, epoch, role, synced, nonce: cfg.nonce, applied, startedAt: cfg.startedAt };
}

function entryOf(m: Keepalive, now: number): LiveEntry {
  return {
    id: m.from,
    role: m.role,
    synced: m.synced,
    epoch: m.epoch,
    applied: m.applied,
    lastSeen: now,
    nonce: m.nonce,
    startedAt: m.startedAt,
  };
}

export function initialHeartbeat(): HeartbeatState {
  return {
    status: { role: 'starting', synced: false, epoch: 0, applied: 0 },
    live: new Map(),
    muted: false,
    beatAt: null,
    echoAt: null,
    cutOff: false,
  };
}

/** Beats every interval (the first at once), checks every `checkEveryMs`; keepalives arrive on `input$`. */
export function heartbeatActor(
  input$: Observable<HeartbeatInput>,
  deps: ActorDeps<HeartbeatConfig, HeartbeatState>,
): Observable<HeartbeatOutput> {
  const { config: cfg, scheduler, onState } = deps;
  const beats$ = merge(
    timer(0, cfg.timing.heartbeatMs, scheduler).pipe(map((): HeartbeatInput => ({ type: 'beat', now: scheduler.now() }))),
    interval(cfg.timing.checkEveryMs, scheduler).pipe(map((): HeartbeatInput => ({ type: 'check', now: scheduler.now() }))),
  );
  return runActor(initialHeartbeat(), heartbeatTransition(cfg), merge(input$, beats$), scheduler, onState);
}
