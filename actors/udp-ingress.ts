/**
 * UdpIngress actor: datagrams in; replies, proposals and scrape queries out. Decoding and connection-ID checks
 * happen here, so nothing malformed or unauthenticated ever reaches consensus. Only a serving instance (the
 * Master, outside an election) answers; otherwise datagrams are dropped and counted (clients retry).
 */
import { map, type Observable, type SchedulerLike } from 'rxjs';
import { addressBytes } from '../src/protocol/compact.js';
import { checkConnectionId, mintConnectionId, type ConnectionIdCache, type ConnectionIdKey } from '../src/protocol/connection-id.js';
import { decodeRequest } from '../src/protocol/decode.js';
import { encodeConnectReply, encodeErrorReply } from '../src/protocol/encode.js';
import { hashAllowed, type HashPolicy } from '../src/policy/hash-list.js';
import type { RateLimiter } from '../src/policy/rate-limit.js';
import type { IngressDrop } from '../src/domain/reasons.js';
import { announceChange } from '../src/domain/swarm.js';
import type { Datagram, Endpoint } from '../src/protocol/types.js';
import type { UdpClient } from '../src/udp/replies.js';
import type { Proposal } from './types.js';

export type { Datagram };

export type IngressOutput =
  | { type: 'reply'; to: Endpoint; data: Buffer }
  | { type: 'propose'; proposal: Proposal<UdpClient> }
  | { type: 'scrape'; to: Endpoint; transactionId: number; infoHashes: readonly Buffer[] }
  | { type: 'dropped'; reason: IngressDrop };

export type IngressDeps = {
  /** Wall time for connection-ID stamps and peers' last-seen times. */
  readonly clock: SchedulerLike;
  /** Read on every request: state transfer may install the cluster's key after start-up. */
  readonly key: () => ConnectionIdKey;
  readonly serving: () => boolean;
  /** Skips the HMAC for a client's repeated ID; must be cleared when the key changes. */
  readonly idCache?: ConnectionIdCache;
  /** Operator policy: info-hash allow/deny lists (read per request: reloadable), per-address rate limit. */
  readonly hashes?: () => HashPolicy;
  readonly limiter?: RateLimiter;
  /** Honour the announce's `ip` field (IPv4) instead of the sender's address. Off by default: it lets anyone inject peers. */
  readonly trustIpField?: boolean;
  /** Sees every datagram with what became of it (metrics); must not throw. */
  readonly observe?: (d: Datagram, o: IngressOutput) => void;
};

const ID_ERRORS = { expired: 'connection ID expired', future: 'connection ID invalid', forged: 'connection ID invalid' };

/**
 * Before a client has proved its address with a valid connection ID, an error reply is never larger than the
 * request: the tracker cannot be used to amplify traffic towards a forged source address.
 */
function preAuthError(to: Endpoint, transactionId: number, message: string, requestLen: number): IngressOutput {
  const room = Math.max(0, requestLen - 8);
  const text = Buffer.from(message, 'utf8').subarray(0, room).toString('utf8');
  return { type: 'reply', to, data: encodeErrorReply(transactionId, text) };
}

export function handleDatagram(d: Datagram, deps: IngressDeps): IngressOutput {
  if (!deps.serving()) return { type: 'dropped', reason: 'not-serving' };
  const addr = addressBytes(d.from.address);
  if (!addr) return { type: 'dropped', reason: 'bad-sender' };
  const now = deps.clock.now();
  if (deps.limiter && !deps.limiter.allow(d.from.address, now)) return { type: 'dropped', reason: 'rate-limited' };
  const decoded = decodeRequest(d.data);

  if (!decoded.ok) {
    const e = decoded.error;
    if (e.kind === 'drop') return { type: 'dropped', reason: e.reason };
    // Answer in full only when the datagram carries a valid connection ID for this sender.
    const id = d.data.length >= 8 ? d.data.readBigUInt64BE(0) : 0n;
    if (checkConnectionId(deps.key(), now, addr.ip, id) === 'valid') {
      return { type: 'reply', to: d.from, data: encodeErrorReply(e.transactionId, e.message) };
    }
    return preAuthError(d.from, e.transactionId, e.message, d.data.length);
  }

  const req = decoded.request;
  if (req.action === 'connect') {
    const id = mintConnectionId(deps.key(), now, addr.ip);
    return { type: 'reply', to: d.from, data: encodeConnectReply(req.transactionId, id) };
  }

  const check = deps.idCache
    ? deps.idCache.check(deps.key(), now, addr.ip, req.connectionId)
    : checkConnectionId(deps.key(), now, addr.ip, req.connectionId);
  if (check !== 'valid') return preAuthError(d.from, req.transactionId, ID_ERRORS[check], d.data.length);

  const policy = deps.hashes?.();
  const refused = policy && (req.action === 'scrape' ? req.infoHashes : [req.infoHash]).some((h) => !hashAllowed(policy, h));
  if (refused) return { type: 'reply', to: d.from, data: encodeErrorReply(req.transactionId, 'torrent not allowed on this tracker') };

  if (req.action === 'scrape') {
    return { type: 'scrape', to: d.from, transactionId: req.transactionId, infoHashes: req.infoHashes };
  }

  // The `ip` field is ignored: the sender's address is the only one we can trust. Last-seen times are kept
  // in whole seconds (that is all expiry needs, and it keeps peer records small).
  const at = Math.floor(now / 1000) * 1000;
  const peerIp = deps.trustIpField && req.ip !== 0 && addr.family === 4 ? ipv4Bytes(req.ip) : addr.ip;
  return {
    type: 'propose',
    proposal: {
      change: announceChange(req, peerIp, at),
      client: {
        kind: 'udp',
        to: d.from,
        transactionId: req.transactionId,
        numWant: req.numWant,
        ip: peerIp,
        port: req.port,
        family: addr.family,
      },
    },
  };
}

function ipv4Bytes(ip: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(ip >>> 0, 0);
  return b;
}

/** The actor face: datagrams in, what became of each out. */
export function udpIngress(datagram$: Observable<Datagram>, deps: IngressDeps): Observable<IngressOutput> {
  const { observe } = deps;
  if (!observe) return datagram$.pipe(map((d) => handleDatagram(d, deps)));
  return datagram$.pipe(
    map((d) => {
      const o = handleDatagram(d, deps);
      observe(d, o);
      return o;
    }),
  );
}
