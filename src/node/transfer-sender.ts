/**
 * The Master's side of state transfers: one sender per requester, each pulling parts from its source one per
 * event-loop turn and keeping at most WINDOW parts unacknowledged, so neither the Master's loop, nor the broker,
 * nor the requester ever holds more than a window of bulk bytes. The requester acknowledges a part once it is
 * stored (its SQLite mirror included). Parts not acknowledged for a stall interval are sent again from the first
 * missing one (a part lost with a broker); a requester silent for the give-up interval is forgotten.
 */
import type { SchedulerLike, Subscription } from 'rxjs';

/** What a source hands out: one part's bytes, the records in it, and whether it was the last. */
export type Part = { readonly data: Buffer; readonly records: number; readonly last: boolean };
/** Parts on demand; null when the source went stale (the repository was replaced): the transfer is dropped. */
export type PartSource = { next(): Part | null };

export type TransferStart = {
  readonly to: number;
  readonly transfer: string;
  readonly kind: 'snapshot' | 'log';
  /** The commit the walk began at (snapshot), or the requester's last round (log). */
  readonly seq: number;
  /** Records expected in all (peers held when the walk began, or rounds): for progress displays. */
  readonly total: number;
  readonly source: PartSource;
};

export type SentPart = TransferStart & { readonly part: number; readonly last: boolean; readonly data: Buffer };

export type TransferOutcome = {
  readonly to: number;
  readonly kind: 'snapshot' | 'log';
  readonly outcome: 'done' | 'abandoned' | 'replaced' | 'stopped';
  readonly parts: number;
  readonly records: number;
  readonly bytes: number;
  readonly ms: number;
};

export type SenderDeps = {
  readonly scheduler: SchedulerLike;
  /** Hand a part to the transfer channel; false when it could not be (it is sent again after a stall). */
  send(p: SentPart): boolean;
  ended(o: TransferOutcome): void;
};

export const WINDOW = 8;
export const STALL_MS = 2000;
export const GIVE_UP_MS = 20_000;

type Sending = {
  readonly start: TransferStart;
  readonly startedAt: number;
  /** Parts sent and not yet acknowledged, by number. */
  readonly unacked: Map<number, SentPart>;
  produced: number;
  acked: number;
  lastPart: number | null;
  records: number;
  bytes: number;
  progressAt: number;
  pumping: Subscription | null;
  readonly watch: Subscription;
};

export type SendingView = { readonly to: number; readonly kind: 'snapshot' | 'log'; readonly records: number; readonly total: number };

export type TransferSenders = {
  /** Begin a transfer; one already under way to the same instance is replaced. */
  start(t: TransferStart): void;
  ack(from: number, transfer: string, next: number): void;
  /** Every transfer dropped (no longer Master, stopping). */
  stopAll(): void;
  /** Transfers under way: to whom, parts acknowledged, records sent of the total expected. */
  active(): readonly SendingView[];
};

export function transferSenders(deps: SenderDeps): TransferSenders {
  const { scheduler } = deps;
  const sending = new Map<number, Sending>();

  const end = (s: Sending, outcome: TransferOutcome['outcome']): void => {
    s.pumping?.unsubscribe();
    s.watch.unsubscribe();
    if (sending.get(s.start.to) === s) sending.delete(s.start.to);
    const { to, kind } = s.start;
    deps.ended({ to, kind, outcome, parts: s.produced, records: s.records, bytes: s.bytes, ms: scheduler.now() - s.startedAt });
  };

  /** One part per turn while the window has room: the loop serves peers in between. */
  const pump = (s: Sending): void => {
    if (s.pumping || s.lastPart !== null || s.produced - s.acked >= WINDOW) return;
    s.pumping = scheduler.schedule(() => {
      s.pumping = null;
      if (sending.get(s.start.to) !== s) return;
      const next = s.start.source.next();
      if (!next) {
        end(s, 'abandoned');
        return;
      }
      const sent: SentPart = { ...s.start, part: s.produced, last: next.last, data: next.data };
      s.unacked.set(sent.part, sent);
      s.produced++;
      s.records += next.records;
      s.bytes += next.data.length;
      if (next.last) s.lastPart = sent.part;
      deps.send(sent);
      pump(s);
    });
  };

  const check = (s: Sending): void => {
    const quiet = scheduler.now() - s.progressAt;
    if (quiet >= GIVE_UP_MS) end(s, 'abandoned');
    else if (quiet >= STALL_MS) for (const p of [...s.unacked.values()].sort((a, b) => a.part - b.part)) deps.send(p);
  };

  return {
    start(t) {
      const old = sending.get(t.to);
      if (old) end(old, 'replaced');
      const now = scheduler.now();
      const s: Sending = {
        start: t,
        startedAt: now,
        unacked: new Map(),
        produced: 0,
        acked: 0,
        lastPart: null,
        records: 0,
        bytes: 0,
        progressAt: now,
        pumping: null,
        watch: scheduler.schedule(function (this: { schedule(state?: unknown, delay?: number): void }) {
          check(s);
          if (sending.get(t.to) === s) this.schedule(undefined, STALL_MS);
        }, STALL_MS),
      };
      sending.set(t.to, s);
      pump(s);
    },
    ack(from, transfer, next) {
      const s = sending.get(from);
      if (!s || s.start.transfer !== transfer || next <= s.acked || next > s.produced) return;
      for (let p = s.acked; p < next; p++) s.unacked.delete(p);
      s.acked = next;
      s.progressAt = scheduler.now();
      if (s.lastPart !== null && next > s.lastPart) return end(s, 'done');
      pump(s);
    },
    stopAll() {
      for (const s of [...sending.values()]) end(s, 'stopped');
    },
    active: () => [...sending.values()].map((s) => ({ to: s.start.to, kind: s.start.kind, records: s.records, total: s.start.total })),
  };
}
