/**
 * Pure bencode (BEP 3) decoder. Never throws: malformed input comes back as `{ ok: false, error }`.
 *
 * Representation: integers → bigint (torrent sizes pass 2^53), byte strings → Buffer (views into the input,
 * not copies), lists → arrays, dicts → Map keyed by the key bytes read as latin1 (one char per byte, so every
 * key is kept exactly).
 *
 * Strict where a lax parse could change meaning: integers reject leading zeros, `-0` and empty digits; string
 * lengths must be digits and stay inside the input; nesting is capped at MAX_DEPTH so hostile input cannot
 * exhaust the stack.
 * Lenient where real files stray from canonical form and nothing is lost: dict keys need not be sorted,
 * duplicate keys are accepted (the last one wins), string lengths may have leading zeros, and bytes after the
 * top-level value are no error (`end` says where it stopped; the caller decides).
 *
 * `spans` gives, for a top-level dict, each key's value as a raw byte range of the input, so a caller can hash
 * the `info` dict exactly as it appears in the file instead of re-encoding it.
 */

export type BValue = bigint | Buffer | BValue[] | BDict;
export type BDict = Map<string, BValue>;
/** A byte range of the input: `buf.subarray(start, end)`. */
export type Span = { start: number; end: number };

export type DecodeResult = { ok: true; value: BValue; end: number; spans: Map<string, Span> } | { ok: false; error: string };

export const MAX_DEPTH = 100;
/** Longer integers mean nothing in a torrent and would make BigInt parsing slow on hostile input. */
const MAX_INT_DIGITS = 64;
/** Keeps a length below 2^53 so the arithmetic on it stays exact. */
const MAX_LEN_DIGITS = 15;

type Step = { ok: true; value: BValue; end: number } | { ok: false; error: string };

const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });
const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

export function decodeBencode(buf: Buffer): DecodeResult {
  const spans = new Map<string, Span>();
  const r = decodeAt(buf, 0, 0, spans);
  return r.ok ? { ...r, spans } : r;
}

/** `spans` is only passed for the top level, the one dict whose value ranges callers need. */
function decodeAt(buf: Buffer, at: number, depth: number, spans: Map<string, Span> | null): Step {
  const c = buf[at];
  if (c === undefined) return fail(`unexpected end of input at offset ${at}`);
  if (c === 0x69 /* i */) return decodeInt(buf, at);
  if (isDigit(c)) return decodeString(buf, at);
  if (c === 0x6c /* l */ || c === 0x64 /* d */) {
    if (depth >= MAX_DEPTH) return fail(`nesting deeper than ${MAX_DEPTH} at offset ${at}`);
    return c === 0x6c ? decodeList(buf, at, depth + 1) : decodeDict(buf, at, depth + 1, spans);
  }
  return fail(`unexpected byte 0x${c.toString(16).padStart(2, '0')} at offset ${at}`);
}

function decodeInt(buf: Buffer, at: number): Step {
  let p = at + 1;
  const negative = buf[p] === 0x2d; /* - */
  if (negative) p++;
  const digitsStart = p;
  while (isDigit(buf[p])) p++;
  const digits = p - digitsStart;
  if (buf[p] === undefined) return fail(`unterminated integer at offset ${at}`);
  if (buf[p] !== 0x65 /* e */) return fail(`invalid byte in integer at offset ${p}`);
  if (digits === 0) return fail(`integer without digits at offset ${at}`);
  if (digits > MAX_INT_DIGITS) return fail(`integer longer than ${MAX_INT_DIGITS} digits at offset ${at}`);
  if (buf[digitsStart] === 0x30 && digits > 1) return fail(`integer with leading zero at offset ${at}`);
  if (negative && buf[digitsStart] === 0x30) return fail(`negative zero at offset ${at}`);
  const value = BigInt(buf.toString('latin1', digitsStart, p));
  return { ok: true, value: negative ? -value : value, end: p + 1 };
}

function decodeString(buf: Buffer, at: number): Step {
  let p = at;
  while (isDigit(buf[p])) p++;
  if (buf[p] === undefined) return fail(`unterminated string length at offset ${at}`);
  if (buf[p] !== 0x3a /* : */) return fail(`invalid byte in string length at offset ${p}`);
  if (p - at > MAX_LEN_DIGITS) return fail(`string length too large at offset ${at}`);
  const len = Number(buf.toString('latin1', at, p));
  const start = p + 1;
  if (start + len > buf.length) return fail(`string of ${len} bytes at offset ${at} runs past the end of input`);
  return { ok: true, value: buf.subarray(start, start + len), end: start + len };
}

function decodeList(buf: Buffer, at: number, depth: number): Step {
  const items: BValue[] = [];
  let p = at + 1;
  for (;;) {
    if (buf[p] === undefined) return fail(`unterminated list at offset ${at}`);
    if (buf[p] === 0x65 /* e */) return { ok: true, value: items, end: p + 1 };
    const r = decodeAt(buf, p, depth, null);
    if (!r.ok) return r;
    items.push(r.value);
    p = r.end;
  }
}

function decodeDict(buf: Buffer, at: number, depth: number, spans: Map<string, Span> | null): Step {
  const dict: BDict = new Map();
  let p = at + 1;
  for (;;) {
    if (buf[p] === undefined) return fail(`unterminated dictionary at offset ${at}`);
    if (buf[p] === 0x65 /* e */) return { ok: true, value: dict, end: p + 1 };
    if (!isDigit(buf[p])) return fail(`dictionary key is not a string at offset ${p}`);
    const k = decodeString(buf, p);
    if (!k.ok) return k;
    const key = (k.value as Buffer).toString('latin1');
    if (buf[k.end] === undefined) return fail(`dictionary key without value at offset ${p}`);
    const v = decodeAt(buf, k.end, depth, null);
    if (!v.ok) return v;
    dict.set(key, v.value);
    spans?.set(key, { start: k.end, end: v.end });
    p = v.end;
  }
}
