/**
 * Collect items into arrays: a batch closes `windowMs` after its first item or when it reaches `maxSize`,
 * whichever comes first. No timer runs while nothing is waiting (unlike `bufferTime`). With `windowMs` 0 the
 * batch closes as soon as the scheduler runs a zero-delay action: on a turn scheduler (streams/turn-scheduler.ts)
 * at the end of the event-loop turn that delivered its first item (no wait: it gathers only what that turn read),
 * in virtual time within the same frame.
 */
import { Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';

export function batch<T>(windowMs: number, maxSize: number, scheduler: SchedulerLike): OperatorFunction<T, T[]> {
  return (source) =>
    new Observable<T[]>((sub) => {
      let buf: T[] = [];
      let timer: Subscription | null = null;
      const flush = (): void => {
        timer?.unsubscribe();
        timer = null;
        if (buf.length === 0) return;
        const out = buf;
        buf = [];
        sub.next(out);
      };
      const s = source.subscribe({
        next: (x) => {
          buf.push(x);
          if (buf.length >= maxSize) flush();
          else if (!timer) timer = scheduler.schedule(flush, windowMs);
        },
        error: (e) => sub.error(e),
        complete: () => {
          flush();
          sub.complete();
        },
      });
      return () => {
        s.unsubscribe();
        timer?.unsubscribe();
      };
    });
}
