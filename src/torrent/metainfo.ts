/**
 * Pure .torrent (BEP 3) reader: the few facts a tracker needs — v1 info hash, display name, total size.
 *
 * The info hash is SHA-1 over the `info` value's bytes exactly as they appear in the file: re-encoding would
 * change the hash of any torrent whose dict is not in canonical form.
 * Hybrid v1/v2 torrents (BEP 52) are read through their v1 half; v2-only torrents have no v1 info hash and are
 * refused. Bytes after the top-level dict are ignored, as BitTorrent clients do.
 */
import { createHash } from 'node:crypto';
import { decodeBencode, type BDict, type BValue } from './bencode.js';

export type Torrent = { infoHash: Buffer; name: string; size: bigint };
export type ParseResult = { ok: true; torrent: Torrent } | { ok: false; error: string };

const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });
const isDict = (v: BValue | undefined): v is BDict => v instanceof Map;
const isBytes = (v: BValue | undefined): v is Buffer => Buffer.isBuffer(v);

export function parseTorrent(buf: Buffer): ParseResult {
  const d = decodeBencode(buf);
  if (!d.ok) return fail(`not a bencoded file: ${d.error}`);
  if (!isDict(d.value)) return fail('torrent is not a bencoded dictionary');
  const info = d.value.get('info');
  const span = d.spans.get('info');
  if (info === undefined || span === undefined) return fail('no info dictionary');
  if (!isDict(info)) return fail('info is not a dictionary');

  const v1 = checkV1(info);
  if (v1) return fail(v1);
  const name = readName(info);
  if (!name.ok) return name;
  const size = readSize(info);
  if (!size.ok) return size;

  const infoHash = createHash('sha1').update(buf.subarray(span.start, span.end)).digest();
  return { ok: true, torrent: { infoHash, name: name.value, size: size.value } };
}

/** Without v1 `pieces` there is no v1 info hash a v1 client would announce; tell v2-only apart for a clearer error. */
function checkV1(info: BDict): string | null {
  const pieces = info.get('pieces');
  if (pieces === undefined) {
    if (info.get('meta version') === 2n || info.has('file tree')) {
      return 'BitTorrent v2-only torrent (no v1 pieces) is not supported';
    }
    return 'info has no pieces';
  }
  if (!isBytes(pieces) || pieces.length % 20 !== 0) return 'info.pieces is not a whole number of 20-byte hashes';
  return null;
}

/** `name.utf-8` is what some clients write when `name` is in a legacy code page; invalid UTF-8 becomes U+FFFD. */
function readName(info: BDict): { ok: true; value: string } | { ok: false; error: string } {
  const utf8 = info.get('name.utf-8');
  const raw = isBytes(utf8) && utf8.length > 0 ? utf8 : info.get('name');
  if (raw === undefined) return fail('info has no name');
  if (!isBytes(raw)) return fail('info.name is not a string');
  if (raw.length === 0) return fail('info.name is empty');
  return { ok: true, value: raw.toString('utf8') };
}

/** Single-file: `length`; multi-file: sum of `files[].length` (padding files of hybrid torrents included). */
function readSize(info: BDict): { ok: true; value: bigint } | { ok: false; error: string } {
  const length = info.get('length');
  const files = info.get('files');
  if (length !== undefined && files !== undefined) return fail('info has both length and files');
  if (length !== undefined) return readLength(length, 'info.length');
  if (files === undefined) return fail('info has neither length nor files');
  if (!Array.isArray(files)) return fail('info.files is not a list');
  if (files.length === 0) return fail('info.files is empty');
  let total = 0n;
  for (const [i, file] of files.entries()) {
    if (!isDict(file)) return fail(`info.files[${i}] is not a dictionary`);
    const len = readLength(file.get('length'), `info.files[${i}].length`);
    if (!len.ok) return len;
    total += len.value;
  }
  return { ok: true, value: total };
}

function readLength(v: BValue | undefined, what: string): { ok: true; value: bigint } | { ok: false; error: string } {
  if (v === undefined) return fail(`${what} is missing`);
  if (typeof v !== 'bigint') return fail(`${what} is not an integer`);
  if (v < 0n) return fail(`${what} is negative`);
  return { ok: true, value: v };
}
