/**
 * Reads every `*.torrent` file directly inside a folder (not recursive, name match case-insensitive, sorted by
 * name for a stable order). Each failure is an entry in `errors`, so one bad file never hides the good ones;
 * this never throws.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseTorrent } from './metainfo.js';

export type LoadedTorrent = { file: string; infoHash: Buffer; name: string; size: bigint };
export type LoadError = { file: string; error: string };
export type LoadResult = { torrents: LoadedTorrent[]; errors: LoadError[] };

/** Real .torrent files are kilobytes to a few MB; a bigger one is a mistake not worth loading into memory. */
const MAX_TORRENT_BYTES = 64 * 1024 * 1024;

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function loadTorrentDir(dir: string): LoadResult {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    return { torrents: [], errors: [{ file: dir, error: `cannot read folder: ${message(e)}` }] };
  }
  const result: LoadResult = { torrents: [], errors: [] };
  // Code-unit order, not locale order: the same on every machine.
  for (const name of names.filter((n) => n.toLowerCase().endsWith('.torrent')).sort()) {
    const file = join(dir, name);
    const loaded = loadFile(file);
    if (loaded === null) continue;
    if ('error' in loaded) result.errors.push(loaded);
    else result.torrents.push(loaded);
  }
  return result;
}

/** null: not a regular file (e.g. a folder named x.torrent), skipped like any other non-torrent entry. */
function loadFile(file: string): LoadedTorrent | LoadError | null {
  let buf: Buffer;
  try {
    const st = statSync(file);
    if (!st.isFile()) return null;
    if (st.size > MAX_TORRENT_BYTES) return { file, error: `larger than ${MAX_TORRENT_BYTES} bytes` };
    buf = readFileSync(file);
  } catch (e) {
    return { file, error: `cannot read file: ${message(e)}` };
  }
  const parsed = parseTorrent(buf);
  return parsed.ok ? { file, ...parsed.torrent } : { file, error: parsed.error };
}
