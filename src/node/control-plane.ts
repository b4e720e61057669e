/**
 * The control plane: Heartbeat (who is alive) and Election (who is Master, in which epoch), wired by a routing
 * table. What the cluster must hear and what the instance must change (its role, its voters, a state transfer
 * to ask for, a fatal duplicate ID) come out as typed events; the composition acts on them.
 */
import type { Observable, SchedulerLike } from 'rxjs';
import { electionActor, type ElectionInput } from '../../actors/election.js';
import { heartbeatActor, type HeartbeatInput, type LiveEntry } from '../../actors/heartbeat.js';
import { type Senders, wireActors } from '../../actors/wire.js';
import type { ClusterMessage, Role } from '../bus/messages.js';
import type { ClusterTiming } from '../domain/timing.js';

export type RoleInfo = { readonly role: Role; readonly epoch: number; readonly master: number | null };

export type ControlEvent =
  | { readonly type: 'publish'; readonly message: ClusterMessage }
  | { readonly type: 'role'; readonly role: RoleInfo }
  /** Membership changed (`live`) or only last-seen times (`seen`). */
  | { readonly type: 'live'; readonly live: readonly LiveEntry[]; readonly changed: boolean }
  /** Ask `to` for its state (node/transfers.ts builds and sends the request). */
  | { readonly type: 'sync-request'; readonly to: number; readonly epoch: number }
  | { readonly type: 'fatal'; readonly code: number; readonly reason: string };

export type ControlPlaneDeps = {
  readonly self: number;
  readonly nonce: string;
  readonly startedAt: number;
  readonly clustered: boolean;
  readonly clusterSize: number;
  readonly timing: ClusterTiming;
  readonly scheduler: SchedulerLike;
  /** The role last reported (a cut-off that ends rejoins only an isolated instance). */
  readonly role: () => Role;
  readonly log: (line: string) => void;
};

export type ControlPlane = {
  readonly to: Senders<{
    heartbeat: (i: Observable<HeartbeatInput>) => Observable<unknown>;
    election: (i: Observable<ElectionInput>) => Observable<unknown>;
  }>;
  readonly event$: Observable<ControlEvent>;
};

export function controlPlane(deps: ControlPlaneDeps): ControlPlane {
  const { self, timing, scheduler, log } = deps;
  const wired = wireActors(
    {
      heartbeat: (in$: Observable<HeartbeatInput>) =>
        heartbeatActor(in$, {
          config: { self, nonce: deps.nonce, startedAt: deps.startedAt, timing, watchEcho: deps.clustered },
          scheduler,
        }),
      election: (in$: Observable<ElectionInput>) =>
        electionActor(in$, {
          config: {
            self,
            discoveryMs: timing.discoveryMs,
            answerTimeoutMs: timing.answerTimeoutMs,
            coordinatorTimeoutMs: timing.coordinatorTimeoutMs,
            syncTimeoutMs: timing.syncTimeoutMs,
            resumeMs: timing.resumeMs,
            clusterSize: deps.clusterSize,
            confirmClaims: deps.clustered,
          },
          scheduler,
        }),
    },
    {
      heartbeat: (o, to, emit: (e: ControlEvent) => void) => {
        switch (o.type) {
          case 'send-keepalive':
            return emit({ type: 'publish', message: o.msg });
          case 'live':
            emit({ type: 'live', live: o.live, changed: true });
            return to.election({ type: 'live', live: o.live });
          case 'seen':
            return emit({ type: 'live', live: o.live, changed: false });
          case 'down':
            log(`instance ${o.entry.id} (${o.entry.role}) is down: silent for ${timing.downAfterMs} ms`);
            return to.election({ type: 'down', entry: o.entry });
          case 'cut-off':
            // Our keepalives no longer come back: stop answering at once (another Master may be elected); when
            // they come back, rejoin as a newcomer.
            if (o.cut) {
              log('own keepalives are not coming back through the broker: isolated, not answering peers');
              return to.election({ type: 'isolate' });
            }
            if (deps.role() !== 'isolated') return;
            log('own keepalives are back: rejoining');
            return to.election({ type: 'rejoin' });
          case 'duplicate':
            if (!o.mine) return log(`warning: another instance is starting with our ID ${self}; it will refuse to run`);
            return emit({
              type: 'fatal',
              code: 3,
              reason: `ID ${self} is already used by a live instance (started ${new Date(o.other.startedAt).toISOString()}); choose another --id`,
            });
        }
      },
      election: (o, _to, emit) => {
        switch (o.type) {
          case 'send-election':
            return emit({ type: 'publish', message: { type: 'election', from: self, epoch: o.epoch } });
          case 'send-answer':
            return emit({ type: 'publish', message: { type: 'answer', from: self, epoch: o.epoch, to: o.to } });
          case 'send-coordinator':
            return emit({ type: 'publish', message: { type: 'coordinator', from: self, epoch: o.epoch } });
          case 'send-sync-request':
            return emit({ type: 'sync-request', to: o.to, epoch: o.epoch });
          case 'role':
            return emit({ type: 'role', role: { role: o.role, epoch: o.epoch, master: o.master } });
        }
      },
    },
  );
  return { to: wired.to, event$: wired.output$ };
}
