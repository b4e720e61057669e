/**
 * Runs a pure transition `(state, input) → [state, effects]` as an RxJS stream. Effects of type `timer` are
 * scheduled on the injected scheduler and fed back as inputs (so marble tests drive time); every other effect
 * is emitted. Inputs that arrive while a transition's effects are being emitted are queued, never re-entered.
 */
import { Observable, type SchedulerLike, type Subscription } from 'rxjs';

/** What every timed actor is made with: `(input$, deps) => output$`, its configuration and clock in `deps`. */
export type ActorDeps<C, S> = { readonly config: C; readonly scheduler: SchedulerLike; readonly onState?: (s: S) => void };

export type Timer<I> = { readonly type: 'timer'; readonly after: number; readonly input: I };
export type Transition<S, I, O> = (state: S, input: I) => readonly [S, ReadonlyArray<O | Timer<I>>];

export function runActor<S, I, O extends { readonly type: string }>(
  initial: S,
  transition: Transition<S, I, O>,
  input$: Observable<I>,
  scheduler: SchedulerLike,
  onState?: (s: S) => void,
): Observable<O> {
  return new Observable<O>((subscriber) => {
    let state = initial;
    const queue: I[] = [];
    let busy = false;
    const timers = new Set<Subscription>();

    const feed = (input: I): void => {
      queue.push(input);
      if (busy) return;
      busy = true;
      try {
        while (queue.length > 0) {
          const [next, effects] = transition(state, queue.shift()!);
          state = next;
          onState?.(state);
          for (const e of effects) {
            if (e.type === 'timer') {
              const t = e as Timer<I>;
              const sub: Subscription = scheduler.schedule(() => {
                timers.delete(sub);
                feed(t.input);
              }, t.after);
              timers.add(sub);
            } else {
              subscriber.next(e as O);
            }
          }
        }
      } finally {
        busy = false;
      }
    };

    const inputSub = input$.subscribe({
      next: feed,
      error: (e) => subscriber.error(e),
      complete: () => subscriber.complete(),
    });
    return () => {
      inputSub.unsubscribe();
      for (const t of timers) t.unsubscribe();
      timers.clear();
    };
  });
}
