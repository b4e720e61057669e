/** Small valid torrents built in memory, with their info dicts encoded separately to check the info hash. */
import { createHash } from 'node:crypto';
import { bencode, type Enc } from './bencode-encode.js';

export type Fixture = { buf: Buffer; infoBytes: Buffer; infoHash: Buffer; name: string; size: bigint };

/** One fake 20-byte hash per piece: the reader only checks that `pieces` has a whole number of them. */
const pieces = (count: number): Buffer => Buffer.alloc(20 * count, 0xab);

export function torrentWith(info: Enc, extra: Record<string, Enc> = {}): Buffer {
  return bencode({ announce: 'udp://tracker.example:6969/announce', ...extra, info });
}

export function singleFile(name = 'single.iso', length = 5_000_000_000n): Fixture {
  const info = { name, length, 'piece length': 262144, pieces: pieces(3) };
  const infoBytes = bencode(info);
  return { buf: torrentWith(info), infoBytes, infoHash: sha1(infoBytes), name, size: length };
}

export function multiFile(name = 'album'): Fixture {
  const files = [
    { length: 1000, path: ['cd1', '01.flac'] },
    { length: 0, path: ['empty.txt'] },
    { length: 1n << 40n, path: ['cd2', 'big.bin'] },
  ];
  const info = { name, files, 'piece length': 16384, pieces: pieces(2) };
  const infoBytes = bencode(info);
  return { buf: torrentWith(info, { comment: 'multi' }), infoBytes, infoHash: sha1(infoBytes), name, size: 1000n + (1n << 40n) };
}

export function sha1(b: Buffer): Buffer {
  return createHash('sha1').update(b).digest();
}
