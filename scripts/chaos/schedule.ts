/**
 * The fault catalogue and a seeded schedule of faults (pure: no I/O, no clock). A schedule is a list of faults;
 * the runner resolves each target (the Master now, a Slave, the broker half serving now) when it applies it.
 */
import { prng } from '../../spec/helpers/prng.js';

export type FaultKind =
  | 'kill-master'
  | 'kill-slave'
  | 'stop-master'
  | 'stop-slave'
  | 'kill-broker'
  | 'stop-broker'
  | 'partition-master'
  | 'partition-slave'
  | 'join';

export type Fault = {
  readonly kind: FaultKind;
  /** SIGSTOP and partitions: how long until SIGCONT / the link is back (ms). */
  readonly holdMs: number;
  /** Which of the two Slaves (0 or 1, by ID order) a Slave fault hits. */
  readonly pick: number;
  /** Load without faults before this one (ms). */
  readonly gapMs: number;
};

export type FaultSpec = {
  readonly what: string;
  /** Longest wait from the fault until an announce sent after it is acknowledged (ms), at keepalive `hb` ms. */
  readonly boundMs: (hb: number, holdMs: number) => number;
  /** Drawn hold times (ms), as [min, max]; null: the fault has no hold. */
  readonly hold: readonly [number, number] | null;
  /** Needs trackers in network namespaces of their own. */
  readonly netns?: boolean;
};

/**
 * Bounds, from the timing rules (src/domain/timing.ts) at keepalive hb: a dead Master is declared down after
 * 2 intervals, the election takes a vote timeout at most, the new Master binds a quarter interval later: 3 hb
 * covers it with 0.25 hb to spare (the README's failover promise, 3 s at 1 s). A Slave fault costs at most one
 * vote timeout and a client retry (1 hb). A stopped broker still holds the KahaDB lock (the other half cannot
 * take over): service comes back only after SIGCONT, then within a broker switch (3 hb). A joiner (a Slave killed
 * and restarted at once, empty) takes the whole repository by state transfer while the Master and the other Slave
 * go on committing: service never waits for it (1 hb, as a Slave fault).
 */
export const CATALOGUE: Readonly<Record<FaultKind, FaultSpec>> = {
  'kill-master': { what: 'SIGKILL of the Master (restarted with its ID)', boundMs: (hb) => 3 * hb, hold: null },
  'kill-slave': { what: 'SIGKILL of a Slave (restarted with its ID)', boundMs: (hb) => hb, hold: null },
  'stop-master': { what: 'SIGSTOP of the Master, SIGCONT after the hold', boundMs: (hb) => 3 * hb, hold: [500, 4000] },
  'stop-slave': { what: 'SIGSTOP of a Slave, SIGCONT after the hold', boundMs: (hb) => hb, hold: [500, 4000] },
  'kill-broker': { what: 'SIGKILL of the serving broker (restarted as the waiting half)', boundMs: (hb) => 3 * hb, hold: null },
  'stop-broker': { what: 'SIGSTOP of the serving broker, SIGCONT after the hold', boundMs: (hb, hold) => hold + 3 * hb, hold: [500, 3000] },
  'partition-master': {
    what: "the Master's namespace cut off (link down), back after the hold",
    boundMs: (hb) => 3 * hb,
    hold: [1000, 5000],
    netns: true,
  },
  'partition-slave': {
    what: "a Slave's namespace cut off (link down), back after the hold",
    boundMs: (hb) => hb,
    hold: [1000, 5000],
    netns: true,
  },
  join: {
    what: 'SIGKILL of a Slave, restarted with its ID at once: it joins the loaded cluster by state transfer',
    boundMs: (hb) => hb,
    hold: null,
  },
};

export const KINDS = Object.keys(CATALOGUE) as FaultKind[];

const draw = (rnd: ReturnType<typeof prng>, kind: FaultKind, gap: readonly [number, number]): Fault => {
  const h = CATALOGUE[kind].hold;
  return {
    kind,
    holdMs: h ? h[0] + rnd.int(h[1] - h[0] + 1) : 0,
    pick: rnd.int(2),
    gapMs: gap[0] + rnd.int(gap[1] - gap[0] + 1),
  };
};

export type ScheduleOpts = {
  /** Fault kinds to draw from (e.g. without the partitions when namespaces are not available). */
  readonly kinds: readonly FaultKind[];
  /** Steady load before each fault, [min, max] ms. */
  readonly gapMs?: readonly [number, number];
};

/**
 * `count` faults: the kinds in a seeded random order, each kind once per round of the catalogue (so a short
 * schedule covers every kind), with seeded holds, Slave picks and gaps. The same seed gives the same list.
 */
export function schedule(seed: number, count: number, o: ScheduleOpts): Fault[] {
  const rnd = prng(seed);
  const out: Fault[] = [];
  while (out.length < count) {
    const round = [...o.kinds];
    for (let i = round.length - 1; i > 0; i--) {
      const j = rnd.int(i + 1);
      [round[i], round[j]] = [round[j]!, round[i]!];
    }
    for (const k of round) if (out.length < count) out.push(draw(rnd, k, o.gapMs ?? [500, 2000]));
  }
  return out;
}
