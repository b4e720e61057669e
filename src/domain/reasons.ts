/**
 * Why something was refused, as typed values: the actors decide with these, metrics count them by kind, and
 * only the edges turn them into text (a BEP 15 error reply, an HTTP failure reason, a log line, a vote's reason
 * on the wire).
 */
import type { DecodeDrop } from '../protocol/types.js';

/** A proposed change that will not be stored: its client gets an error reply and retries. */
export type RejectReason = 'not-committed' | 'failover' | 'not-master' | 'busy';

export const REJECT_TEXT: Readonly<Record<RejectReason, string>> = {
  'not-committed': 'not committed by a majority; retry',
  failover: 'tracker failover in progress; retry',
  'not-master': 'not the master',
  busy: 'tracker busy; retry',
};

/** Why a voter answered ERROR to a PREPARE. */
export type VoteError =
  | { readonly kind: 'unknown-outcome' }
  | { readonly kind: 'gap'; readonly have: number; readonly got: number }
  | { readonly kind: 'cannot-store' };

export function voteErrorText(e: VoteError): string {
  switch (e.kind) {
    case 'unknown-outcome':
      return 'outcome of previous round unknown';
    case 'gap':
      return `sequence gap: have ${e.have}, got ${e.got}`;
    case 'cannot-store':
      return 'cannot store';
  }
}

/** Why a Slave needs the Master's whole state again. */
export type ResyncReason =
  | { readonly kind: 'missed-outcome'; readonly seq: number }
  | { readonly kind: 'gap'; readonly at: number }
  | { readonly kind: 'commit-without-prepare'; readonly seq: number };

export function resyncText(r: ResyncReason): string {
  switch (r.kind) {
    case 'missed-outcome':
      return `missed the outcome of round ${r.seq}`;
    case 'gap':
      return `sequence gap at ${r.at}`;
    case 'commit-without-prepare':
      return `commit ${r.seq} without its prepare`;
  }
}

/** A datagram the UDP ingress left unanswered. */
export type IngressDrop = 'not-serving' | 'bad-sender' | 'rate-limited' | DecodeDrop;

/**
 * A cluster message refused where it entered from the broker: no valid tag; signed but not newer than what its
 * sender's incarnation already sent (a replay, or a keepalive of an earlier start); signed by an incarnation this
 * instance has not heard join (bus/freshness.ts); not a message of the schema (or, with a secret, without its
 * stamp); changes or a snapshot chunk that do not decode.
 */
export type ClusterReject = 'bad-tag' | 'replayed' | 'unknown-sender' | 'malformed' | 'bad-changes' | 'bad-snapshot';
export const CLUSTER_REJECTS: readonly ClusterReject[] = [
  'bad-tag',
  'replayed',
  'unknown-sender',
  'malformed',
  'bad-changes',
  'bad-snapshot',
];
