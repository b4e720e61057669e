/**
 * Authenticated cluster messages: every message published carries `tag`, an HMAC-SHA256 (truncated to 128 bits)
 * of its JSON text under a shared secret; a message without a valid tag is dropped. A stranger on the broker
 * therefore cannot inject COMMITs, votes or election messages. The receiver recomputes the JSON of what it
 * parsed minus the tag: JSON.parse keeps property order, so the text is the sender's own (a message whose fields
 * were reordered on the way no longer verifies).
 *
 * A signature alone does not make a message fresh: a recorded keepalive verifies forever. So the signer also
 * stamps every message with its envelope fields, covered by the tag:
 *   inc  this instance's incarnation: 16 hex digits chosen at random when the instance starts
 *   ctr  a counter, 1 for its first message and one more for each message it signs
 * and `verify` hands the stamp back beside the message. Receivers judge freshness with it (bus/freshness.ts).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The freshness fields of a signed message's envelope. */
export type Stamp = { readonly inc: string; readonly ctr: number };

/** A message that passed `verify`: its fields without the envelope's `tag`, `inc`, `ctr`; the stamp when it had a valid one. */
export type Verified = { readonly message: object; readonly stamp: Stamp | null };

export type Signer = {
  /** True when messages are authenticated (a secret): only then is a stamp required and freshness judged. */
  readonly authenticated: boolean;
  sign<T extends object>(m: T): T & { tag: string };
  /** The message and its stamp when the tag is valid, else null. */
  verify(raw: unknown): Verified | null;
};

const INCARNATION = /^[0-9a-f]{16}$/;

export const isIncarnation = (s: unknown): s is string => typeof s === 'string' && INCARNATION.test(s);

function stampOf(inc: unknown, ctr: unknown): Stamp | null {
  return isIncarnation(inc) && Number.isSafeInteger(ctr) && (ctr as number) >= 1 ? { inc, ctr: ctr as number } : null;
}

const isRecord = (raw: unknown): raw is Record<string, unknown> => typeof raw === 'object' && raw !== null && !Array.isArray(raw);

/**
 * `incarnation`: 16 hex digits, random per instance start (the caller draws it: no randomness in here). The
 * counter lives in the signer: sign messages in the order they are published.
 */
export function createSigner(secret: Buffer, incarnation: string): Signer {
  if (!isIncarnation(incarnation)) throw new Error('an incarnation is 16 hex digits'); // a wiring error
  const mac = (text: string): Buffer => createHmac('sha256', secret).update(text).digest().subarray(0, 16);
  let ctr = 0;
  return {
    authenticated: true,
    sign(m) {
      const stamped = { ...m, inc: incarnation, ctr: ++ctr };
      return { ...stamped, tag: mac(JSON.stringify(stamped)).toString('hex') };
    },
    verify(raw) {
      if (!isRecord(raw)) return null;
      const { tag, ...rest } = raw;
      if (typeof tag !== 'string' || !/^[0-9a-f]{32}$/.test(tag)) return null;
      if (!timingSafeEqual(Buffer.from(tag, 'hex'), mac(JSON.stringify(rest)))) return null;
      const { inc, ctr: c, ...message } = rest;
      return { message, stamp: stampOf(inc, c) };
    },
  };
}

/**
 * Without a secret every message passes (a single host, a private broker); the log says so at start. Messages
 * carry no stamp and nobody judges freshness: anyone who can publish can forge any message anyway, so a replay
 * check would prove nothing.
 */
export const openSigner: Signer = {
  authenticated: false,
  sign: (m) => m as typeof m & { tag: string },
  verify: (raw) => (typeof raw === 'object' && raw !== null ? { message: raw as object, stamp: null } : null),
};
