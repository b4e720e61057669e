/**
 * Test-only bencode encoder. Plain objects are written with keys sorted by their bytes (canonical form);
 * a Map is written in its own insertion order, so tests can build non-canonical dicts on purpose.
 */
export type Enc = number | bigint | string | Buffer | Enc[] | { [key: string]: Enc } | Map<string, Enc>;

export function bencode(v: Enc): Buffer {
  return Buffer.concat(parts(v));
}

function parts(v: Enc): Buffer[] {
  if (typeof v === 'number' || typeof v === 'bigint') return [Buffer.from(`i${BigInt(v)}e`)];
  if (typeof v === 'string') return bytes(Buffer.from(v, 'utf8'));
  if (Buffer.isBuffer(v)) return bytes(v);
  if (Array.isArray(v)) return [Buffer.from('l'), ...v.flatMap(parts), Buffer.from('e')];
  const entries: Array<[string, Enc]> =
    v instanceof Map ? [...v.entries()] : Object.entries(v).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return [Buffer.from('d'), ...entries.flatMap(([k, x]) => [...bytes(Buffer.from(k, 'utf8')), ...parts(x)]), Buffer.from('e')];
}

function bytes(b: Buffer): Buffer[] {
  return [Buffer.from(`${b.length}:`), b];
}
