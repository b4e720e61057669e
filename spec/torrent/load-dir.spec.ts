import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTorrentDir } from '../../src/torrent/load-dir.js';
import { tempDir } from '../helpers/temp.js';
import { multiFile, singleFile } from '../helpers/torrent-fixtures.js';

test('loads good files sorted by name, reports garbage, ignores other entries', () => {
  const tmp = tempDir('load-dir');
  try {
    const one = singleFile('one.iso');
    const two = multiFile('two');
    writeFileSync(join(tmp.path, 'b-two.torrent'), two.buf);
    writeFileSync(join(tmp.path, 'a-one.torrent'), one.buf);
    writeFileSync(join(tmp.path, 'c-broken.torrent'), 'this is not bencode');
    writeFileSync(join(tmp.path, 'readme.txt'), one.buf); // valid content, wrong extension: ignored
    mkdirSync(join(tmp.path, 'folder.torrent')); // not a file: ignored
    mkdirSync(join(tmp.path, 'sub'));
    writeFileSync(join(tmp.path, 'sub', 'nested.torrent'), one.buf); // not recursive: ignored

    const r = loadTorrentDir(tmp.path);
    assert.equal(r.torrents, [
      { file: join(tmp.path, 'a-one.torrent'), infoHash: one.infoHash, name: 'one.iso', size: one.size },
      { file: join(tmp.path, 'b-two.torrent'), infoHash: two.infoHash, name: 'two', size: two.size },
    ]);
    assert.is(r.errors.length, 1);
    assert.is(r.errors[0]!.file, join(tmp.path, 'c-broken.torrent'));
    assert.match(r.errors[0]!.error, /not a bencoded file/);
  } finally {
    tmp.remove();
  }
});

test('an empty folder gives nothing and no errors', () => {
  const tmp = tempDir('load-dir-empty');
  try {
    assert.equal(loadTorrentDir(tmp.path), { torrents: [], errors: [] });
  } finally {
    tmp.remove();
  }
});

test('a missing folder is one error naming the folder, not a throw', () => {
  const tmp = tempDir('load-dir-missing');
  tmp.remove();
  const r = loadTorrentDir(tmp.path);
  assert.equal(r.torrents, []);
  assert.is(r.errors.length, 1);
  assert.is(r.errors[0]!.file, tmp.path);
  assert.match(r.errors[0]!.error, /cannot read folder/);
});

test('a file given instead of a folder is one error, not a throw', () => {
  const tmp = tempDir('load-dir-file');
  try {
    const file = join(tmp.path, 'x.torrent');
    writeFileSync(file, singleFile().buf);
    const r = loadTorrentDir(file);
    assert.equal(
      r.errors.map((e) => e.file),
      [file],
    );
  } finally {
    tmp.remove();
  }
});

test.run();
