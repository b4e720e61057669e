/**
 * HTTP tracker request targets (BEP 3 announce, BEP 48 scrape) → typed requests, or an error value. Pure: no
 * I/O, no clock, never throws.
 *
 * The target is read as bytes (one char per byte, latin1: what node's HTTP parser hands over), so info_hash and
 * peer_id keep their exact binary value: `%00`, `%FF` and raw bytes ≥ 0x80 all survive. `+` means a space only
 * in text parameters (event, numbers, flags); in the binary ones (info_hash, peer_id, key) it is the byte 0x2B, because clients such as
 * libtorrent percent-encode every byte outside the unreserved set and a literal `+` can only mean itself there.
 * Unknown parameters, and `ip` (the sender's address is the only one we trust), are ignored.
 */
import { Event, MAX_SCRAPE_HASHES, type EventCode } from '../protocol/constants.js';

export { MAX_SCRAPE_HASHES };

export const HASH_LEN = 20;
/** 2^64 − 1: uploaded, downloaded and left are u64 in every tracker protocol. */
export const MAX_U64 = (1n << 64n) - 1n;
/** Longer digit strings are refused before BigInt sees them (hostile input cannot make parsing slow). */
const MAX_DIGITS = 32;

export type HttpAnnounce = {
  readonly action: 'announce';
  readonly infoHash: Buffer;
  readonly peerId: Buffer;
  readonly port: number;
  readonly uploaded: bigint;
  readonly downloaded: bigint;
  readonly left: bigint;
  /** `event` absent or empty is `none`, as in BEP 15. */
  readonly event: EventCode;
  /** −1 when absent (the tracker's default), as BEP 15's num_want; negative values mean the same. */
  readonly numWant: number;
  /** BEP 23: absent means compact (every current client asks for it; the dictionary model is opt-out). */
  readonly compact: boolean;
  readonly noPeerId: boolean;
  /** Raw bytes (aria2 sends binary keys, libtorrent 8 hex digits); the tracker does not use it. */
  readonly key: Buffer | null;
};

export type HttpScrape = { readonly action: 'scrape'; readonly infoHashes: readonly Buffer[] };

export type HttpTrackerRequest = HttpAnnounce | HttpScrape;

export type ParsedTarget =
  | { readonly ok: true; readonly request: HttpTrackerRequest }
  /** Neither /announce nor /scrape: the server answers 404. */
  | { readonly ok: false; readonly kind: 'not-found'; readonly path: string }
  /** A tracker path with a bad query: answered 200 with a bencoded `failure reason`, as trackers do. */
  | { readonly ok: false; readonly kind: 'bad-request'; readonly action: 'announce' | 'scrape'; readonly failureReason: string };

type Param = { readonly name: string; readonly raw: string };
type Field<T> = { ok: true; value: T } | { ok: false; error: string };

const EVENTS: ReadonlyMap<string, EventCode> = new Map([
  ['', Event.none],
  ['empty', Event.none],
  ['started', Event.started],
  ['completed', Event.completed],
  ['stopped', Event.stopped],
]);

const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/**
 * Percent-decode one component to bytes. `raw` is one char per byte (latin1); a char above 0xFF cannot come
 * from the wire and is refused. Returns null on a malformed escape (`%`, `%4`, `%G0`).
 */
export function percentDecode(raw: string, plusIsSpace: boolean): Buffer | null {
  const out = Buffer.allocUnsafe(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c > 0xff) return null;
    if (c === 0x25 /* % */) {
      const h = raw.charCodeAt(i + 1);
      const l = raw.charCodeAt(i + 2);
      if (!isHex(h) || !isHex(l)) return null; // NaN past the end fails isHex too
      out[n++] = parseInt(raw.slice(i + 1, i + 3), 16);
      i += 2;
    } else {
      out[n++] = plusIsSpace && c === 0x2b /* + */ ? 0x20 : c;
    }
  }
  return out.subarray(0, n);
}

/** Split `a=1&b=2` into raw (still encoded) values; names are decoded as text. Empty segments are skipped. */
function splitQuery(query: string): Field<Param[]> {
  const params: Param[] = [];
  for (const seg of query.split('&')) {
    if (seg === '') continue;
    const eq = seg.indexOf('=');
    const rawName = eq < 0 ? seg : seg.slice(0, eq);
    const name = percentDecode(rawName, true);
    if (!name) return { ok: false, error: 'malformed percent-encoding in a parameter name' };
    params.push({ name: name.toString('latin1'), raw: eq < 0 ? '' : seg.slice(eq + 1) });
  }
  return { ok: true, value: params };
}

export function parseTarget(target: string): ParsedTarget {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q + 1);
  if (path !== '/announce' && path !== '/scrape') return { ok: false, kind: 'not-found', path };
  const action = path === '/announce' ? 'announce' : 'scrape';
  const bad = (failureReason: string): ParsedTarget => ({ ok: false, kind: 'bad-request', action, failureReason });
  const split = splitQuery(query);
  if (!split.ok) return bad(split.error);
  const r = action === 'announce' ? parseAnnounce(split.value) : parseScrape(split.value);
  return r.ok ? { ok: true, request: r.value } : bad(r.error);
}

function parseScrape(params: readonly Param[]): Field<HttpScrape> {
  const infoHashes: Buffer[] = [];
  for (const p of params) {
    if (p.name !== 'info_hash') continue;
    // Checked before decoding, so a flood of hashes costs no more than counting them.
    if (infoHashes.length === MAX_SCRAPE_HASHES) return { ok: false, error: `too many info hashes (max ${MAX_SCRAPE_HASHES})` };
    const h = binary(p, 'info_hash');
    if (!h.ok) return h;
    infoHashes.push(h.value);
  }
  return { ok: true, value: { action: 'scrape', infoHashes } };
}

function parseAnnounce(params: readonly Param[]): Field<HttpAnnounce> {
  // An announce names one torrent and one peer: a repeated parameter is ambiguous, so it is refused.
  const byName = new Map<string, Param>();
  for (const p of params) {
    if (byName.has(p.name) && p.name !== 'ip') return { ok: false, error: `parameter ${p.name} given more than once` };
    byName.set(p.name, p);
  }
  const need = (name: string): Field<Param> => {
    const p = byName.get(name);
    return p ? { ok: true, value: p } : { ok: false, error: `missing ${name}` };
  };

  const ih = need('info_hash');
  if (!ih.ok) return ih;
  const infoHash = binary(ih.value, 'info_hash');
  if (!infoHash.ok) return infoHash;
  const pid = need('peer_id');
  if (!pid.ok) return pid;
  const peerId = binary(pid.value, 'peer_id');
  if (!peerId.ok) return peerId;

  const portP = need('port');
  if (!portP.ok) return portP;
  const port = unsigned(portP.value, 'port', 65535n);
  if (!port.ok) return port;
  // Port 0 cannot be connected to: BEP 3 practice (opentracker, chihaya) refuses it.
  if (port.value === 0n) return { ok: false, error: 'invalid port 0' };

  const amounts: bigint[] = [];
  for (const name of ['uploaded', 'downloaded', 'left']) {
    const p = need(name);
    if (!p.ok) return p;
    const v = unsigned(p.value, name, MAX_U64);
    if (!v.ok) return v;
    amounts.push(v.value);
  }

  let event: EventCode = Event.none;
  const evP = byName.get('event');
  if (evP) {
    const ev = text(evP, 'event');
    if (!ev.ok) return ev;
    const code = EVENTS.get(ev.value);
    if (code === undefined) return { ok: false, error: `unknown event ${JSON.stringify(ev.value.slice(0, 32))}` };
    event = code;
  }

  let numWant = -1;
  const nwP = byName.get('numwant');
  if (nwP) {
    const nw = signedInt32(nwP, 'numwant');
    if (!nw.ok) return nw;
    numWant = nw.value;
  }

  const compact = flag(byName.get('compact'), 'compact', true);
  if (!compact.ok) return compact;
  const noPeerId = flag(byName.get('no_peer_id'), 'no_peer_id', false);
  if (!noPeerId.ok) return noPeerId;

  let key: Buffer | null = null;
  const keyP = byName.get('key');
  if (keyP) {
    const k = percentDecode(keyP.raw, false);
    if (!k) return { ok: false, error: 'malformed percent-encoding in key' };
    key = Buffer.from(k);
  }

  return {
    ok: true,
    value: {
      action: 'announce',
      infoHash: infoHash.value,
      peerId: peerId.value,
      port: Number(port.value),
      uploaded: amounts[0]!,
      downloaded: amounts[1]!,
      left: amounts[2]!,
      event,
      numWant,
      compact: compact.value,
      noPeerId: noPeerId.value,
      key,
    },
  };
}

/** A 20-byte binary parameter (info_hash, peer_id): `+` stays 0x2B. */
function binary(p: Param, name: string): Field<Buffer> {
  const b = percentDecode(p.raw, false);
  if (!b) return { ok: false, error: `malformed percent-encoding in ${name}` };
  if (b.length !== HASH_LEN) return { ok: false, error: `${name} must be ${HASH_LEN} bytes (got ${b.length})` };
  return { ok: true, value: Buffer.from(b) }; // a copy of exactly 20 bytes, not a view into a larger scratch buffer
}

function text(p: Param, name: string): Field<string> {
  const b = percentDecode(p.raw, true);
  return b ? { ok: true, value: b.toString('utf8') } : { ok: false, error: `malformed percent-encoding in ${name}` };
}

/** Decimal digits only (no sign, no spaces), at most `max`. */
function unsigned(p: Param, name: string, max: bigint): Field<bigint> {
  const t = text(p, name);
  if (!t.ok) return t;
  const s = t.value;
  if (s.startsWith('-') && /^-[0-9]+$/.test(s)) return { ok: false, error: `${name} must not be negative` };
  if (!/^[0-9]+$/.test(s)) return { ok: false, error: `${name} must be a decimal integer` };
  const digits = s.replace(/^0+(?=.)/, '');
  if (digits.length > MAX_DIGITS || BigInt(digits) > max) return { ok: false, error: `${name} is larger than ${max}` };
  return { ok: true, value: BigInt(digits) };
}

function signedInt32(p: Param, name: string): Field<number> {
  const t = text(p, name);
  if (!t.ok) return t;
  if (!/^-?[0-9]{1,10}$/.test(t.value)) return { ok: false, error: `${name} must be a decimal integer` };
  const n = Number(t.value);
  if (n < -0x80000000 || n > 0x7fffffff) return { ok: false, error: `${name} is out of range` };
  return { ok: true, value: n };
}

function flag(p: Param | undefined, name: string, absent: boolean): Field<boolean> {
  if (!p) return { ok: true, value: absent };
  const t = text(p, name);
  if (!t.ok) return t;
  if (t.value === '1') return { ok: true, value: true };
  if (t.value === '0') return { ok: true, value: false };
  return { ok: false, error: `${name} must be 0 or 1` };
}

/** Who sent an HTTP request (the TCP peer). */
export type HttpFrom = { readonly address: string; readonly port: number };
