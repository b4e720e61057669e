/**
 * HTTP clients waiting for their announce to be committed. Each wait is a promise of the reply body, settled
 * exactly once: by the repository after COMMIT (the announce reply) or ABORT (a failure), by a timeout on the
 * injected scheduler (a round lost with a Master that stepped down must not hold a connection open), or by
 * `settleAll` when the instance stops. Bounded: past `max` waiting clients a new one is refused at once.
 */
import { timer, type SchedulerLike, type Subscription } from 'rxjs';
import { failureReply } from './replies.js';

export type HttpWaiters = {
  /**
   * Start a wait: `start` receives the settle function to hand over with the proposal (and should propose it).
   * Resolves with the body to send; never rejects.
   */
  wait(start: (settle: (body: Buffer) => void) => void): Promise<Buffer>;
  /** Answer every waiting client now (stop, loss of the Master role). */
  settleAll(body: Buffer): void;
  readonly size: number;
};

export type HttpWaitersOptions = {
  readonly scheduler: SchedulerLike;
  readonly timeoutMs: number;
  readonly max: number;
};

export const COMMIT_TIMEOUT = 'announce not committed in time; retry';
export const TOO_MANY_WAITING = 'tracker busy; retry';

export function createHttpWaiters(opts: HttpWaitersOptions): HttpWaiters {
  const waiting = new Set<(body: Buffer) => void>();
  return {
    wait(start) {
      if (waiting.size >= opts.max) return Promise.resolve(failureReply(TOO_MANY_WAITING));
      return new Promise<Buffer>((resolve) => {
        let timeout: Subscription | null = null;
        let done = false;
        const settle = (body: Buffer): void => {
          if (done) return;
          done = true;
          waiting.delete(settle);
          timeout?.unsubscribe();
          resolve(body);
        };
        waiting.add(settle);
        timeout = timer(opts.timeoutMs, opts.scheduler).subscribe(() => settle(failureReply(COMMIT_TIMEOUT)));
        try {
          start(settle);
        } catch (e) {
          settle(failureReply(`internal error: ${e instanceof Error ? e.message : String(e)}`));
        }
      });
    },
    settleAll(body) {
      for (const settle of [...waiting]) settle(body);
    },
    get size() {
      return waiting.size;
    },
  };
}
