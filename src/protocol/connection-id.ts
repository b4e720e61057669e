/**
 * Stateless connection IDs: u32 time stamp (seconds) + first 4 bytes of HMAC-SHA256(key, stamp ‖ ip).
 * Nothing is stored per client; any instance holding the key can verify an ID minted by another.
 * Bound to the address, not the port: proving the address is what stops spoofing, and real clients reuse one
 * ID across sockets (libtorrent caches it per tracker for the whole process). Time is a parameter.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** BEP 15: clients use an ID for 1 minute; trackers must accept it for 2. */
export const CONNECTION_ID_LIFETIME_S = 120;

export type ConnectionIdKey = Buffer;

function tag(key: ConnectionIdKey, stamp: number, ip: Buffer): Buffer {
  const msg = Buffer.allocUnsafe(4 + ip.length);
  msg.writeUInt32BE(stamp >>> 0, 0);
  ip.copy(msg, 4);
  return createHmac('sha256', key).update(msg).digest().subarray(0, 4);
}

export function mintConnectionId(key: ConnectionIdKey, nowMs: number, ip: Buffer): bigint {
  const stamp = Math.floor(nowMs / 1000) >>> 0;
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32BE(stamp, 0);
  tag(key, stamp, ip).copy(out, 4);
  return out.readBigUInt64BE(0);
}

export type ConnectionIdCheck = 'valid' | 'expired' | 'future' | 'forged';

export function checkConnectionId(key: ConnectionIdKey, nowMs: number, ip: Buffer, id: bigint): ConnectionIdCheck {
  const raw = Buffer.allocUnsafe(8);
  raw.writeBigUInt64BE(BigInt.asUintN(64, id), 0);
  const stamp = raw.readUInt32BE(0);
  const now = Math.floor(nowMs / 1000);
  // Check the tag first so an attacker learns nothing about the time window from the error text.
  if (!timingSafeEqual(raw.subarray(4), tag(key, stamp, ip))) return 'forged';
  if (stamp > now) return 'future';
  if (now - stamp > CONNECTION_ID_LIFETIME_S) return 'expired';
  return 'valid';
}

/**
 * Remembers the last valid ID per client address so a busy client costs one HMAC per ID, not one per request.
 * Bounded (oldest forgotten first); the caller clears it when the key changes (state transfer).
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
