/**
 * The cluster inbox: every message from the broker is verified (signature), checked (schema) and routed to the
 * part of the instance it is for, or refused with a typed reason that metrics count. Pure apart from the freshness
 * record it is given (each sender's last counter moves up): the caller acts.
 */
import type { ElectionInput } from '../../actors/election.js';
import type { HeartbeatInput } from '../../actors/heartbeat.js';
import type { Signer } from '../bus/auth.js';
import type { Freshness } from '../bus/freshness.js';
import type { ClusterMessage } from '../bus/messages.js';
import { parseClusterMessage } from '../bus/validate.js';
import type { ClusterReject } from '../domain/reasons.js';

type Of<T extends ClusterMessage['type']> = Extract<ClusterMessage, { type: T }>;
/** A round's messages, held back while a state transfer is under way. */
export type RoundMessage = Of<'prepare'> | Of<'commit'> | Of<'abort'>;

export type Inbound =
  | { readonly to: 'heartbeat'; readonly input: HeartbeatInput }
  | { readonly to: 'election'; readonly input: ElectionInput }
  | { readonly to: 'round'; readonly message: RoundMessage }
  | { readonly to: 'vote'; readonly message: Of<'vote'> }
  | { readonly to: 'sync-request'; readonly message: Of<'sync-request'> }
  | { readonly to: 'sync-ack'; readonly message: Of<'sync-ack'> }
  | { readonly to: 'rejected'; readonly reason: ClusterReject }
  /** Well-formed but not for us: our own echo (but of a keepalive or a COORDINATOR), or addressed to another instance. */
  | { readonly to: 'ignored' };

/**
 * `freshness`: given with a secret (signed messages carry a stamp); a message that is not newer than what its
 * sender's incarnation already sent, or from an incarnation that did not join, is refused. Without a secret
 * nothing is judged: unsigned messages prove nothing (see bus/auth.ts).
 */
export function routeInbound(raw: unknown, self: number, signer: Signer, now: number, freshness?: Freshness): Inbound {
  const verified = signer.verify(raw);
  if (!verified) return { to: 'rejected', reason: 'bad-tag' };
  const m = parseClusterMessage(verified.message);
  if (!m) return { to: 'rejected', reason: 'malformed' };
  if (freshness) {
    if (!verified.stamp) return { to: 'rejected', reason: 'malformed' };
    const verdict = freshness.admit({ from: m.from, stamp: verified.stamp, startedAt: m.type === 'keepalive' ? m.startedAt : null });
    if (verdict !== 'fresh') return { to: 'rejected', reason: verdict };
  }
  // Our own, echoed by the topic. Two are the exception: a keepalive's echo proves the broker carries us, and a
  // COORDINATOR's echo confirms our claim (the broker's order decides between two claims of one epoch).
  if (m.from === self && m.type !== 'keepalive' && m.type !== 'coordinator') return { to: 'ignored' };
  switch (m.type) {
    case 'keepalive':
      return { to: 'heartbeat', input: { type: 'keepalive', msg: m, now } };
    case 'election':
    case 'coordinator':
      return { to: 'election', input: { type: m.type, from: m.from, epoch: m.epoch } };
    case 'answer':
      return m.to === self ? { to: 'election', input: { type: 'answer', from: m.from, to: m.to, epoch: m.epoch } } : { to: 'ignored' };
    case 'prepare':
    case 'commit':
    case 'abort':
      return { to: 'round', message: m };
    case 'vote':
      return m.to === self ? { to: 'vote', message: m } : { to: 'ignored' };
    case 'sync-request':
      return { to: 'sync-request', message: m };
    case 'sync-ack':
      return m.to === self ? { to: 'sync-ack', message: m } : { to: 'ignored' };
    case 'transfer':
      return { to: 'rejected', reason: 'malformed' }; // only ever on the transfer queue
  }
}

export type BulkInbound =
  | { readonly to: 'transfer'; readonly message: Of<'transfer'> }
  | { readonly to: 'rejected'; readonly reason: ClusterReject }
  | { readonly to: 'ignored' };

/**
 * What arrives on this instance's transfer queue: verified and checked like the rest, but judged by the transfer it
 * belongs to rather than by freshness counters (its messages travel apart from the topic's, so their counters
 * arrive out of step). A replayed part of the transfer under way is a duplicate the receiver drops; a part of any
 * other transfer is ignored.
 */
export function routeBulk(raw: unknown, self: number, signer: Signer): BulkInbound {
  const verified = signer.verify(raw);
  if (!verified) return { to: 'rejected', reason: 'bad-tag' };
  const m = parseClusterMessage(verified.message);
  if (m?.type !== 'transfer') return { to: 'rejected', reason: 'malformed' };
  return m.to === self ? { to: 'transfer', message: m } : { to: 'ignored' };
}
