/**
 * Optional cross-check against python3-libtorrent: makes torrents with the real library and reports what it
 * read back from them. Returns null when no python3 on this machine can import libtorrent, so callers skip.
 */
import { spawnSync } from 'node:child_process';

export type LtTorrent = { path: string; kind: string; infoHash: string | null; name: string; size: number };

// A pyenv python3 early on PATH may lack the Debian module that /usr/bin/python3 has.
const PYTHONS = ['python3', '/usr/bin/python3'];

// biome-ignore lint/complexity/noUselessStringRaw: Python source; String.raw keeps any backslash added later as Python wrote it.
const SCRIPT = String.raw`
import sys, os, json, libtorrent as lt
root = sys.argv[1]
content = os.path.join(root, 'content')
os.makedirs(os.path.join(content, 'Päck ü', 'sub'))
with open(os.path.join(content, 'solo.dat'), 'wb') as f: f.write(os.urandom(70000))
with open(os.path.join(content, 'Päck ü', 'a.bin'), 'wb') as f: f.write(os.urandom(100000))
with open(os.path.join(content, 'Päck ü', 'sub', 'b.txt'), 'wb') as f: f.write(b'hello' * 1000)
out = []
cases = [('hybrid', 'solo.dat', 0), ('hybrid', 'Päck ü', 0),
         ('v1', 'Päck ü', lt.create_torrent.v1_only), ('v2', 'solo.dat', lt.create_torrent.v2_only)]
for kind, target, flags in cases:
    fs = lt.file_storage()
    lt.add_files(fs, os.path.join(content, target))
    ct = lt.create_torrent(fs, 0, flags)
    lt.set_piece_hashes(ct, content)
    path = os.path.join(root, kind + '-' + target + '.torrent')
    with open(path, 'wb') as f: f.write(lt.bencode(ct.generate()))
    ti = lt.torrent_info(path)
    v1 = ti.info_hashes().v1
    out.append({'path': path, 'kind': kind, 'infoHash': None if v1.is_all_zeros() else str(v1),
                'name': ti.name(), 'size': ti.total_size()})
print(json.dumps(out))
`;

export function findLibtorrentPython(): string | null {
  for (const py of PYTHONS) {
    const r = spawnSync(py, ['-c', 'import libtorrent'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}

export function makeLibtorrentTorrents(python: string, dir: string): LtTorrent[] {
  const r = spawnSync(python, ['-c', SCRIPT, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`libtorrent script failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as LtTorrent[];
}
