/** Seeded PRNG (mulberry32) so a fuzz failure can be replayed with the same seed. */
export function prng(seed: number): { int(n: number): number; bytes(n: number): Buffer } {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { int, bytes: (n) => Buffer.from(Array.from({ length: n }, () => int(256))) };
}

/** Random edits of a valid buffer: flip, insert, delete, truncate, or splice in bencode-looking bytes. */
export function mutate(buf: Buffer, rnd: ReturnType<typeof prng>): Buffer {
  const b = Buffer.from(buf);
  const at = rnd.int(b.length + 1);
  const tokens = ['i', 'e', 'l', 'd', ':', '-', '0', '9', '99999999:', 'i-0e', 'd1:a', 'l'.repeat(120)];
  switch (rnd.int(5)) {
    case 0:
      if (b.length) b[Math.min(at, b.length - 1)] = rnd.int(256);
      return b;
    case 1:
      return Buffer.concat([b.subarray(0, at), rnd.bytes(1 + rnd.int(4)), b.subarray(at)]);
    case 2:
      return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rnd.int(8)))]);
    case 3:
      return b.subarray(0, at);
    default:
      return Buffer.concat([b.subarray(0, at), Buffer.from(tokens[rnd.int(tokens.length)]!), b.subarray(at)]);
  }
}
