/**
 * Stateless connection IDs: u32 time stamp (seconds) + first 4 bytes of HMAC-SHA256(key, stamp ‖ ip).
 * Nothing is stored per client; any instance holding the key can verify an ID minted by another.
 * Bound to the address, not the port: proving the address is what stops spoofing, and real clients reuse one
 * ID across sockets (libtorrent caches it per tracker for the whole process). Time is a parameter.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** BEP 15: clients use an ID for 1 minute; trackers must accept it for 2. */
export const CONNECTION_ID_LIFETIME_S = 120;

/**
 * With a cluster secret the key is not a value anyone holds or sends: every instance derives the key of each
 * period of this many seconds from the secret, and an ID is checked with the key of its own stamp's period, so an
 * ID minted just before a rollover, or by the Master that just failed, stays valid for its whole lifetime. At least
 * the lifetime: a valid ID's stamp is in the current period or the one before.
 */
export const CONNECTION_KEY_PERIOD_S = 600;
const HKDF_SALT = 'udp-tracker-cluster';
/** The HKDF info of a period's key (the period: stamp seconds / CONNECTION_KEY_PERIOD_S, rounded down). */
export const connectionKeyInfo = (period: number): string => `connection-id key v1, period ${period}`;

/** Keys by period, derived from a secret (connectionKeySchedule). */
export type KeySchedule = { readonly periodS: number; keyFor(period: number): Buffer };

/** One fixed key (a lone instance, or a cluster without a secret: the Master hands it over), or a schedule. */
export type ConnectionIdKey = Buffer | KeySchedule;

/** HKDF-SHA256 of the cluster secret for one period: 32 bytes. */
export function deriveConnectionKey(secret: Buffer, period: number): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, connectionKeyInfo(period), 32));
}

/** Each period's key derived once (the last few kept): the hot path costs a map lookup, not an HKDF. */
export function connectionKeySchedule(secret: Buffer): KeySchedule {
  const keys = new Map<number, Buffer>();
  return {
    periodS: CONNECTION_KEY_PERIOD_S,
    keyFor(period) {
      let k = keys.get(period);
      if (!k) {
        k = deriveConnectionKey(secret, period);
        keys.set(period, k);
        if (keys.size > 4) keys.delete(keys.keys().next().value!);
      }
      return k;
    },
  };
}

const keyAt = (key: ConnectionIdKey, stamp: number): Buffer => (Buffer.isBuffer(key) ? key : key.keyFor(Math.floor(stamp / key.periodS)));

function tag(key: Buffer, stamp: number, ip: Buffer): Buffer {
  const msg = Buffer.allocUnsafe(4 + ip.length);
  msg.writeUInt32BE(stamp >>> 0, 0);
  ip.copy(msg, 4);
  return createHmac('sha256', key).update(msg).digest().subarray(0, 4);
}

export function mintConnectionId(key: ConnectionIdKey, nowMs: number, ip: Buffer): bigint {
  const stamp = Math.floor(nowMs / 1000) >>> 0;
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32BE(stamp, 0);
  tag(keyAt(key, stamp), stamp, ip).copy(out, 4);
  return out.readBigUInt64BE(0);
}

export type ConnectionIdCheck = 'valid' | 'expired' | 'future' | 'forged';

export function checkConnectionId(key: ConnectionIdKey, nowMs: number, ip: Buffer, id: bigint): ConnectionIdCheck {
  const raw = Buffer.allocUnsafe(8);
  raw.writeBigUInt64BE(BigInt.asUintN(64, id), 0);
  const stamp = raw.readUInt32BE(0);
  const now = Math.floor(nowMs / 1000);
  if (!Buffer.isBuffer(key)) {
    // Keys are derived only for the periods a valid ID can be in: a forged stamp costs no HKDF.
    const period = Math.floor(stamp / key.periodS);
    if (period > Math.floor(now / key.periodS)) return 'future';
    if (period < Math.floor((now - CONNECTION_ID_LIFETIME_S) / key.periodS)) return 'expired';
  }
  // Check the tag first so an attacker learns nothing about the time window from the error text.
  if (!timingSafeEqual(raw.subarray(4), tag(keyAt(key, stamp), stamp, ip))) return 'forged';
  if (stamp > now) return 'future';
  if (now - stamp > CONNECTION_ID_LIFETIME_S) return 'expired';
  return 'valid';
}

/**
 * Remembers the last valid ID per client address so a busy client costs one HMAC per ID, not one per request.
 * Bounded (oldest forgotten first); the caller clears it when the key changes (state transfer without a secret;
 * a schedule's keys never change for a given stamp, so a rollover keeps it).
 */
export type ConnectionIdCache = { check(key: ConnectionIdKey, nowMs: number, ip: Buffer, id: bigint): ConnectionIdCheck; clear(): void };

export function createConnectionIdCache(maxClients = 65_536): ConnectionIdCache {
  const known = new Map<string, bigint>();
  return {
    check(key, nowMs, ip, id) {
      const who = ip.toString('latin1');
      if (known.get(who) === id) {
        // Same ID as last time: only its age can have changed.
        const stamp = Number(BigInt.asUintN(64, id) >> 32n);
        const now = Math.floor(nowMs / 1000);
        if (stamp > now) return 'future';
        return now - stamp > CONNECTION_ID_LIFETIME_S ? 'expired' : 'valid';
      }
      const r = checkConnectionId(key, nowMs, ip, id);
      if (r === 'valid') {
        known.delete(who);
        known.set(who, id);
        if (known.size > maxClients) known.delete(known.keys().next().value!);
      }
      return r;
    },
    clear: () => known.clear(),
  };
}
