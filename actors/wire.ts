/**
 * Wires actors that feed one another, cycles included, from a routing table instead of Subjects made and
 * connected by hand. Each actor gets a mailbox; each of its outputs goes to its route, which may send inputs to
 * any actor (`to`) or emit to the outside (`emit`). Subscribing to `output$` starts every actor; unsubscribing
 * stops them all. Delivery is synchronous and in order; the actor runner queues inputs that arrive while it is
 * busy, so no transition is re-entered.
 */
import { Observable, Subject, type Subscription } from 'rxjs';

/** The one actor shape: inputs in, outputs out (its dependencies are bound when it is made). */
export type Actor<I, O> = (input$: Observable<I>) => Observable<O>;

type AnyActors = Record<string, Actor<never, unknown>>;
type InputOf<A> = A extends Actor<infer I, unknown> ? I : never;
type OutputOf<A> = A extends Actor<never, infer O> ? O : never;

export type Senders<A extends AnyActors> = { readonly [K in keyof A]: (input: InputOf<A[K]>) => void };
export type Routes<A extends AnyActors, E> = {
  readonly [K in keyof A]: (output: OutputOf<A[K]>, to: Senders<A>, emit: (e: E) => void) => void;
};
export type Wired<A extends AnyActors, E> = { readonly to: Senders<A>; readonly output$: Observable<E> };

export function wireActors<A extends AnyActors, E>(actors: A, routes: Routes<A, E>): Wired<A, E> {
  const names = Object.keys(actors) as (keyof A & string)[];
  const boxes = Object.fromEntries(names.map((n) => [n, new Subject<unknown>()])) as Record<keyof A, Subject<unknown>>;
  const to = Object.fromEntries(names.map((n) => [n, (input: unknown) => boxes[n].next(input)])) as unknown as Senders<A>;
  const output$ = new Observable<E>((subscriber) => {
    const emit = (e: E): void => subscriber.next(e);
    const subs: Subscription[] = names.map((n) => {
      const run = actors[n] as unknown as Actor<unknown, OutputOf<A[typeof n]>>;
      const route = routes[n];
      return run(boxes[n]).subscribe({ next: (o) => route(o, to, emit), error: (e: unknown) => subscriber.error(e) });
    });
    return () => {
      for (const s of subs) s.unsubscribe();
    };
  });
  return { to, output$ };
}
