/**
 * Info-hash allow and deny lists: files of 40-hex-digit hashes, one per line (`#` comments and blank lines
 * ignored). Parsing is pure; a bad line makes the whole file an error value, so a typo never silently opens or
 * closes the tracker. With an allow list only listed hashes are served; a deny list refuses what it lists.
 */
export type HashList = ReadonlySet<string>;

export function parseHashList(text: string): { ok: true; list: HashList } | { ok: false; error: string } {
  const list = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/#.*/, '').trim();
    if (line === '') continue;
    if (!/^[0-9a-fA-F]{40}$/.test(line)) return { ok: false, error: `line ${i + 1}: not a 40-hex-digit info hash: "${line.slice(0, 60)}"` };
    list.add(line.toLowerCase());
  }
  return { ok: true, list };
}

export type HashPolicy = { readonly allow: HashList | null; readonly deny: HashList | null };

export function hashAllowed(p: HashPolicy, infoHash: Buffer): boolean {
  if (!p.allow && !p.deny) return true;
  const hex = infoHash.toString('hex');
  if (p.deny?.has(hex)) return false;
  return !p.allow || p.allow.has(hex);
}
