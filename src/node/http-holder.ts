/**
 * The HTTP tracker follows the Master role like the UDP service address: only the Master listens. Announces
 * wait for their commit (they join the UDP ones in the same rounds); scrapes and refusals are answered at once.
 * Steps (take, release) run one at a time.
 */
import type { SchedulerLike } from 'rxjs';
import { type HttpRequestEvent, type HttpTrackerServer, startHttpTracker } from '../../streams/http-server.js';
import { type HttpIngressDeps, handleHttpRequest, NOT_SERVING } from '../http/ingress.js';
import type { HttpFrom, HttpTrackerRequest } from '../http/query.js';
import { failureReply } from '../http/replies.js';
import { createHttpWaiters } from '../http/waiters.js';
import type { DropReason, Metrics } from '../metrics.js';
import type { ClientProposal } from './data-plane.js';
import { MAX_QUEUE } from './data-plane.js';

/** An HTTP announce not committed within this is answered with a failure (clients retry). */
const HTTP_COMMIT_TIMEOUT_MS = 10_000;

export type HttpHolderDeps = HttpIngressDeps & {
  readonly host: string;
  readonly port: number;
  readonly scheduler: SchedulerLike;
  readonly metrics: Metrics;
  readonly dropReason: () => DropReason;
  readonly propose: (p: ClientProposal) => void;
  readonly log: (line: string) => void;
};

export type HttpHolder = {
  hold(want: boolean): Promise<void>;
  port(): number | null;
  /** Why the last attempt to listen failed, if it did. */
  error(): string | null;
  /** Answer every waiting client and close for good. */
  stop(reason: string): Promise<void>;
};

export function httpHolder(deps: HttpHolderDeps): HttpHolder {
  const { metrics, log } = deps;
  const waiters = createHttpWaiters({ scheduler: deps.scheduler, timeoutMs: HTTP_COMMIT_TIMEOUT_MS, max: MAX_QUEUE });
  const handle = (req: HttpTrackerRequest, from: HttpFrom): Promise<Buffer> => {
    const o = handleHttpRequest(req, from, deps);
    if (o.type === 'propose') return waiters.wait((settle) => deps.propose({ change: o.change, client: { ...o.client, settle } }));
    if (o.outcome === 'not-serving') metrics.countDropped('http', deps.dropReason());
    else if (o.outcome === 'refused') metrics.countError('http', req.action);
    return Promise.resolve(o.body);
  };
  const count = (e: HttpRequestEvent): void => {
    if (e.action === 'metrics') return; // scrapes of /metrics are not tracker traffic
    metrics.countRequest('http', e.action);
    if (e.outcome !== 'ok') metrics.countError('http', e.action);
  };
  let server: HttpTrackerServer | null = null;
  let wanted = false;
  let stopped = false;
  let lastError: string | null = null;
  let steps: Promise<void> = Promise.resolve();

  const take = async (): Promise<void> => {
    const r = await startHttpTracker({ host: deps.host, port: deps.port, handle, metrics: () => metrics.text(), log, onRequest: count });
    if (!r.ok) {
      lastError = r.error;
      return log(`cannot take the HTTP tracker address: ${r.error}`);
    }
    lastError = null;
    if (!wanted || stopped) return r.server.close();
    server = r.server;
    log(`HTTP tracker on http://${deps.host}:${r.server.port}/announce`);
  };
  const release = async (): Promise<void> => {
    const s = server!;
    server = null;
    waiters.settleAll(failureReply(NOT_SERVING));
    await s.close();
    log('released the HTTP tracker address');
  };
  const hold = (want: boolean): Promise<void> => {
    wanted = want;
    steps = steps
      .then(async () => {
        if (wanted && !server && !stopped) await take();
        else if (!wanted && server) await release();
      })
      .catch((e: unknown) => log(`HTTP tracker: ${e instanceof Error ? e.message : String(e)}`));
    return steps;
  };
  return {
    hold,
    port: () => server?.port ?? null,
    error: () => lastError,
    async stop(reason) {
      stopped = true;
      waiters.settleAll(failureReply(reason));
      await hold(false);
    },
  };
}
