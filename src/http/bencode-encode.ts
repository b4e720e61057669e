/**
 * Pure bencode (BEP 3) encoder for HTTP tracker replies. Never throws: what cannot be encoded comes back as
 * `{ ok: false, error }`.
 *
 * Values: bigint or (safe integer) number → integer; string → its UTF-8 bytes; Buffer → those exact bytes;
 * arrays → lists; dicts → keys sorted by raw bytes (canonical form, what strict decoders expect). A dict is a
 * plain object (text keys) or a Map whose keys are strings (UTF-8) or Buffers (raw bytes: scrape replies are
 * keyed by 20-byte binary info hashes, which no text key can carry).
 */

export type BencodeValue = bigint | number | string | Buffer | readonly BencodeValue[] | BencodeDict;
export type BencodeDict = ReadonlyMap<string | Buffer, BencodeValue> | { readonly [key: string]: BencodeValue };

export type EncodeResult = { ok: true; data: Buffer } | { ok: false; error: string };

/** Deeper than any reply we build; it also stops a cyclic structure before it exhausts the stack. */
export const MAX_ENCODE_DEPTH = 64;

type Fail = { ok: false; error: string };

export function encodeBencode(value: BencodeValue): EncodeResult {
  const parts: Buffer[] = [];
  const err = write(value, parts, 0);
  return err ?? { ok: true, data: Buffer.concat(parts) };
}

const byteString = (b: Buffer, out: Buffer[]): void => {
  out.push(Buffer.from(`${b.length}:`, 'latin1'), b);
};

/** Appends the encoding of `v` to `out`; returns an error value, or null when all went well. */
function write(v: BencodeValue, out: Buffer[], depth: number): Fail | null {
  if (typeof v === 'bigint') {
    out.push(Buffer.from(`i${v}e`, 'latin1'));
    return null;
  }
  if (typeof v === 'number') {
    // Bencode has no fractions; a NaN or 1.5 here is a bug upstream, reported rather than rounded away.
    if (!Number.isSafeInteger(v)) return { ok: false, error: `not an integer that can be encoded exactly: ${v}` };
    out.push(Buffer.from(`i${v}e`, 'latin1'));
    return null;
  }
  if (typeof v === 'string') {
    byteString(Buffer.from(v, 'utf8'), out);
    return null;
  }
  if (Buffer.isBuffer(v)) {
    byteString(v, out);
    return null;
  }
  if (depth >= MAX_ENCODE_DEPTH) return { ok: false, error: `nesting deeper than ${MAX_ENCODE_DEPTH}` };
  if (Array.isArray(v)) {
    out.push(Buffer.from('l'));
    for (const item of v as readonly BencodeValue[]) {
      const e = write(item, out, depth + 1);
      if (e) return e;
    }
    out.push(Buffer.from('e'));
    return null;
  }
  const entries: Array<[Buffer, BencodeValue]> = [];
  if (v instanceof Map) {
    for (const [k, x] of v) entries.push([Buffer.isBuffer(k) ? k : Buffer.from(k, 'utf8'), x]);
  } else {
    for (const [k, x] of Object.entries(v as { readonly [key: string]: BencodeValue })) entries.push([Buffer.from(k, 'utf8'), x]);
  }
  entries.sort(([a], [b]) => Buffer.compare(a, b));
  out.push(Buffer.from('d'));
  for (let i = 0; i < entries.length; i++) {
    const [k, x] = entries[i]!;
    // A string key and a Buffer key can name the same bytes; a dict with a repeated key is not bencode.
    if (i > 0 && k.equals(entries[i - 1]![0]))
      return { ok: false, error: `duplicate dictionary key ${JSON.stringify(k.toString('latin1'))}` };
    byteString(k, out);
    const e = write(x, out, depth + 1);
    if (e) return e;
  }
  out.push(Buffer.from('e'));
  return null;
}
