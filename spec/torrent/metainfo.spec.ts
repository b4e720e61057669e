import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { parseTorrent } from '../../src/torrent/metainfo.js';
import { bencode, type Enc } from '../helpers/bencode-encode.js';
import { findLibtorrentPython, makeLibtorrentTorrents } from '../helpers/libtorrent.js';
import { mutate, prng } from '../helpers/prng.js';
import { tempDir } from '../helpers/temp.js';
import { multiFile, sha1, singleFile, torrentWith } from '../helpers/torrent-fixtures.js';

const pieces = Buffer.alloc(20, 1);
const base = { name: 'n', 'piece length': 16384, pieces };

function expectError(buf: Buffer, pattern: RegExp): void {
  const r = parseTorrent(buf);
  if (r.ok) assert.unreachable(`expected an error matching ${pattern}`);
  else assert.match(r.error, pattern);
}
const withInfo = (info: Enc): Buffer => torrentWith(info);

test('single-file torrent: info hash is SHA-1 of the encoded info dict, size is info.length', () => {
  const f = singleFile();
  const r = parseTorrent(f.buf);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.torrent.infoHash, f.infoHash);
  assert.is(r.torrent.infoHash.length, 20);
  assert.is(r.torrent.name, 'single.iso');
  assert.is(r.torrent.size, 5_000_000_000n);
});

test('multi-file torrent: size is the sum of files[].length', () => {
  const f = multiFile();
  const r = parseTorrent(f.buf);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.torrent.infoHash, f.infoHash);
  assert.is(r.torrent.name, 'album');
  assert.is(r.torrent.size, 1000n + (1n << 40n));
});

test('info hash is over the raw bytes, not a re-encoding (non-canonical key order kept)', () => {
  const info = new Map<string, Enc>([
    ['pieces', pieces],
    ['name', 'x'],
    ['length', 1],
  ]);
  const raw = bencode(info);
  const r = parseTorrent(withInfo(info));
  assert.ok(r.ok);
  assert.equal(r.ok && r.torrent.infoHash, sha1(raw));
  assert.not.equal(r.ok && r.torrent.infoHash, sha1(bencode({ pieces, name: 'x', length: 1 })));
});

test('name is UTF-8, and name.utf-8 is preferred when present', () => {
  const plain = parseTorrent(withInfo({ ...base, name: 'Ünïcødé ✓', length: 1 }));
  assert.is(plain.ok && plain.torrent.name, 'Ünïcødé ✓');
  const legacy = Buffer.from([0xc4, 0xe3, 0xba, 0xc3]); // GBK bytes, not valid UTF-8
  const both = parseTorrent(withInfo({ ...base, name: legacy, 'name.utf-8': '你好', length: 1 }));
  assert.is(both.ok && both.torrent.name, '你好');
});

test('hybrid v1/v2 torrent uses the v1 info hash and v1 file list', () => {
  const info = {
    ...base,
    'meta version': 2,
    length: 77,
    'file tree': { n: { '': { length: 77, 'pieces root': Buffer.alloc(32) } } },
  };
  const r = parseTorrent(torrentWith(info, { 'piece layers': {} }));
  assert.ok(r.ok);
  assert.equal(r.ok && r.torrent.infoHash, sha1(bencode(info)));
  assert.is(r.ok && r.torrent.size, 77n);
});

test('trailing bytes after the torrent dict are ignored', () => {
  const f = singleFile();
  const r = parseTorrent(Buffer.concat([f.buf, Buffer.from('\n')]));
  assert.equal(r.ok && r.torrent.infoHash, f.infoHash);
});

const bad: Array<[string, Buffer, RegExp]> = [
  ['empty file', Buffer.alloc(0), /not a bencoded file/],
  ['garbage', Buffer.from('<html>not a torrent</html>'), /not a bencoded file/],
  ['truncated', singleFile().buf.subarray(0, 40), /not a bencoded file/],
  ['top level is a list', bencode([1, 2]), /not a bencoded dictionary/],
  ['no info', bencode({ announce: 'x' }), /no info dictionary/],
  ['info is a string', bencode({ info: 'x' }), /info is not a dictionary/],
  ['missing name', withInfo({ pieces, length: 1 }), /no name/],
  ['name is an integer', withInfo({ ...base, name: 5, length: 1 }), /name is not a string/],
  ['empty name', withInfo({ ...base, name: '', length: 1 }), /name is empty/],
  ['missing length and files', withInfo(base), /neither length nor files/],
  ['both length and files', withInfo({ ...base, length: 1, files: [{ length: 1, path: ['a'] }] }), /both length and files/],
  ['negative length', withInfo({ ...base, length: -1 }), /info\.length is negative/],
  ['length is a string', withInfo({ ...base, length: '12' }), /info\.length is not an integer/],
  ['files not a list', withInfo({ ...base, files: { a: 1 } }), /files is not a list/],
  ['empty files', withInfo({ ...base, files: [] }), /files is empty/],
  ['file entry not a dict', withInfo({ ...base, files: [{ length: 1, path: ['a'] }, 'x'] }), /files\[1\] is not a dictionary/],
  ['file without length', withInfo({ ...base, files: [{ path: ['a'] }] }), /files\[0\]\.length is missing/],
  [
    'negative file length',
    withInfo({
      ...base,
      files: [
        { length: 1, path: ['a'] },
        { length: -5, path: ['b'] },
      ],
    }),
    /files\[1\]\.length is negative/,
  ],
  ['no pieces (v1)', withInfo({ name: 'n', length: 1 }), /no pieces/],
  ['pieces not a multiple of 20', withInfo({ ...base, pieces: Buffer.alloc(21), length: 1 }), /20-byte/],
  ['v2-only', withInfo({ name: 'n', 'piece length': 16384, 'meta version': 2, 'file tree': {} }), /v2-only.*not supported/],
];
for (const [why, buf, pattern] of bad) test(`error: ${why}`, () => expectError(buf, pattern));

test('2000 random buffers and 2000 mutations of a valid torrent never throw', () => {
  const rnd = prng(3);
  for (let i = 0; i < 2000; i++) assert.type(parseTorrent(rnd.bytes(rnd.int(200))).ok, 'boolean');
  const valid = multiFile().buf;
  let buf = valid;
  for (let i = 0; i < 2000; i++) {
    buf = mutate(i % 10 === 0 ? valid : buf, rnd);
    const r = parseTorrent(buf);
    if (r.ok) assert.is(r.torrent.infoHash.length, 20);
  }
});

// Only when python3-libtorrent is installed; every other test stands without it. Not registered at all
// otherwise (rather than test.skip): scripts/run-specs counts failed = total - passed - skipped, and uvu's
// Total leaves skipped tests out, so a skip would come out as -1 failures there.
const python = findLibtorrentPython();
if (!python) console.log('metainfo.spec: python3-libtorrent not found, libtorrent cross-check not run');
if (python)
  test('cross-check with torrents made by python3-libtorrent', () => {
    const tmp = tempDir('lt-torrents');
    try {
      const made = makeLibtorrentTorrents(python!, tmp.path);
      assert.is(made.length, 4);
      for (const lt of made) {
        const r = parseTorrent(readFileSync(lt.path));
        if (lt.kind === 'v2') {
          assert.is(lt.infoHash, null);
          assert.is(!r.ok && /v2-only/.test(r.error), true, `${lt.path}: v2-only should be refused`);
          continue;
        }
        if (!r.ok) assert.unreachable(`${lt.path}: ${r.error}`);
        else {
          assert.is(r.torrent.infoHash.toString('hex'), lt.infoHash, lt.path);
          assert.is(r.torrent.name, lt.name);
          assert.is(r.torrent.size, BigInt(lt.size));
        }
      }
    } finally {
      tmp.remove();
    }
  });

test.run();
