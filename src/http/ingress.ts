/**
 * HttpIngress: the HTTP counterpart of actors/udp-ingress.ts. One parsed request in, one decision out: answer
 * now (a scrape from memory, or a refusal), or propose an announce change whose client waits for the commit.
 * The same gates as UDP, in the same order: serving, rate limit, info-hash policy. No connection IDs: a TCP
 * handshake already proves the sender's address. Pure apart from the injected clock, policy and store readers.
 */
import type { SchedulerLike } from 'rxjs';
import type { AnnounceChange, SwarmStore } from '../domain/types.js';
import { hashAllowed, type HashPolicy } from '../policy/hash-list.js';
import type { RateLimiter } from '../policy/rate-limit.js';
import { httpAnnounceChange, httpScrapeBody, type HttpClientRef } from './announce.js';
import type { HttpFrom, HttpTrackerRequest } from './query.js';
import { failureReply } from './replies.js';

export type HttpIngressDeps = {
  readonly clock: SchedulerLike;
  readonly serving: () => boolean;
  /** The read model as it is now (it is replaced by a state transfer, so it is read per request). */
  readonly store: () => SwarmStore;
  readonly hashes?: () => HashPolicy;
  readonly limiter?: RateLimiter;
};

/** `refused`: a failure reply the client caused or policy made; `not-serving`: retry later (election, not Master). */
export type HttpIngressOutput =
  | { readonly type: 'answer'; readonly body: Buffer; readonly outcome: 'ok' | 'refused' | 'not-serving' }
  | { readonly type: 'propose'; readonly change: AnnounceChange; readonly client: Omit<HttpClientRef, 'settle'> };

export const NOT_SERVING = 'tracker not serving right now (election in progress); retry';
export const NOT_ALLOWED = 'torrent not allowed on this tracker';
export const RATE_LIMITED = 'too many requests; slow down';

export function handleHttpRequest(req: HttpTrackerRequest, from: HttpFrom, deps: HttpIngressDeps): HttpIngressOutput {
  // Unlike UDP (silence, the client retries), a TCP client is waiting on an open connection: tell it.
  if (!deps.serving()) return { type: 'answer', body: failureReply(NOT_SERVING), outcome: 'not-serving' };
  const now = deps.clock.now();
  if (deps.limiter && !deps.limiter.allow(from.address, now))
    return { type: 'answer', body: failureReply(RATE_LIMITED), outcome: 'refused' };
  const policy = deps.hashes?.();
  const hashes = req.action === 'scrape' ? req.infoHashes : [req.infoHash];
  if (policy && hashes.some((h) => !hashAllowed(policy, h))) return { type: 'answer', body: failureReply(NOT_ALLOWED), outcome: 'refused' };

  if (req.action === 'scrape') return { type: 'answer', body: httpScrapeBody(deps.store(), req.infoHashes), outcome: 'ok' };

  const made = httpAnnounceChange(req, from, now);
  if (!made.ok) return { type: 'answer', body: failureReply(made.failureReason), outcome: 'refused' };
  return { type: 'propose', change: made.change, client: made.client };
}
