/**
 * Authenticated cluster messages: every message published carries `tag`, an HMAC-SHA256 (truncated to 128 bits)
 * of its JSON text under a shared secret; a message without a valid tag is dropped. A stranger on the broker
 * therefore cannot inject COMMITs, votes or election messages. The receiver recomputes the JSON of what it
 * parsed minus the tag: JSON.parse keeps property order, so the text is the sender's own.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type Signer = {
  sign<T extends object>(m: T): T & { tag: string };
  /** The message without its tag when the tag is valid, else null. */
  verify(raw: unknown): object | null;
};

export function createSigner(secret: Buffer): Signer {
  const mac = (text: string): Buffer => createHmac('sha256', secret).update(text).digest().subarray(0, 16);
  return {
    sign(m) {
      return { ...m, tag: mac(JSON.stringify(m)).toString('hex') };
    },
    verify(raw) {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
      const { tag, ...rest } = raw as Record<string, unknown>;
      if (typeof tag !== 'string' || !/^[0-9a-f]{32}$/.test(tag)) return null;
      return timingSafeEqual(Buffer.from(tag, 'hex'), mac(JSON.stringify(rest))) ? rest : null;
    },
  };
}

/** Without a secret every message passes (a single host, a private broker); the log says so at start. */
export const openSigner: Signer = {
  sign: (m) => m as typeof m & { tag: string },
  verify: (raw) => (typeof raw === 'object' && raw !== null ? (raw as object) : null),
};
