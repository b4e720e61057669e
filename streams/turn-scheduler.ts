/**
 * A scheduler whose zero delay means "at the end of the current event-loop turn" (after every datagram the turn
 * read), not a timer: a round that starts on it starts at once, with whatever arrived in the same turn. Any other
 * delay goes to `base`. The deferral itself is injected (main.ts passes `setImmediate`), so nothing here reads
 * the clock or owns a timer.
 */
import { type SchedulerAction, type SchedulerLike, Subscription } from 'rxjs';

/** Run `fn` once after the current turn; the returned function cancels it. */
export type Defer = (fn: () => void) => () => void;

export function turnScheduler(base: SchedulerLike, defer: Defer): SchedulerLike {
  return {
    now: () => base.now(),
    schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
      if (delay > 0) return base.schedule(work, delay, state);
      const action = new Subscription() as Subscription & { schedule: SchedulerAction<T>['schedule'] };
      action.schedule = (st?: T, d?: number) => base.schedule(work, d, st) as SchedulerAction<T>;
      action.add(
        defer(() => {
          if (!action.closed) work.call(action as SchedulerAction<T>, state);
        }),
      );
      return action;
    },
  };
}
