/**
 * The client behind a peer ID (pure). Three conventions cover almost every client seen in the wild
 * (https://wiki.theory.org/BitTorrentSpecification#peer_id, BEP 20):
 * - Azureus style `-XXvvvv-…`: two letters name the client, four characters its version (`-qB4650-` qBittorrent
 *   4.6.5, `-TR4060-` Transmission 4.0.6, `-LT2080-` libtorrent 2.0.8);
 * - Shadow style `S58B-----…`: one letter, then version characters up to the dashes (Shadow 5.8.11);
 * - Mainline `M7-2-0--…`: `M` and dash-separated numbers (Mainline 7.2.0).
 * An Azureus-style tag of a client not in the list is shown as the tag (`-XX0001-`); anything else as `unknown`
 * (a random ID's first printable bytes name no client: `P` is not a client).
 */

export type PeerClient = {
  /** The client's name (`qBittorrent`), an unlisted Azureus-style tag (`-XX0001-`), or `unknown`. */
  readonly name: string;
  /** `4.6.5`; empty when unknown. */
  readonly version: string;
  readonly known: boolean;
};

/** Azureus-style two-letter codes, from the public lists (wiki.theory.org, libtorrent's identify_client). */
export const AZUREUS_CLIENTS: Readonly<Record<string, string>> = {
  '7T': 'aTorrent',
  AG: 'Ares',
  'A~': 'Ares',
  AR: 'Arctic',
  AT: 'Artemis',
  AV: 'Avicora',
  AX: 'BitPump',
  AZ: 'Vuze',
  BB: 'BitBuddy',
  BC: 'BitComet',
  BF: 'Bitflu',
  BG: 'BTG',
  BI: 'BiglyBT',
  BL: 'BitBlinder',
  BP: 'BitTorrent Pro',
  BR: 'BitRocket',
  BS: 'BTSlave',
  BT: 'BitTorrent',
  BW: 'BitWombat',
  CD: 'Enhanced CTorrent',
  CT: 'CTorrent',
  DE: 'Deluge',
  DP: 'Propagate Data Client',
  EB: 'EBit',
  ES: 'electric sheep',
  FC: 'FileCroc',
  FD: 'Free Download Manager',
  FT: 'FoxTorrent',
  FW: 'FrostWire',
  FX: 'Freebox BitTorrent',
  GS: 'GSTorrent',
  HL: 'Halite',
  HN: 'Hydranode',
  KG: 'KGet',
  KT: 'KTorrent',
  LC: 'LeechCraft',
  LH: 'LH-ABC',
  LP: 'Lphant',
  LT: 'libtorrent',
  lt: 'libTorrent',
  LW: 'LimeWire',
  MO: 'MonoTorrent',
  MP: 'MooPolice',
  MR: 'Miro',
  MT: 'MoonlightTorrent',
  NX: 'Net Transport',
  OS: 'OneSwarm',
  OT: 'OmegaTorrent',
  PD: 'Pando',
  PI: 'PicoTorrent',
  qB: 'qBittorrent',
  QD: 'QQDownload',
  QT: 'Qt 4 Torrent example',
  RT: 'Retriever',
  'S~': 'Shareaza alpha/beta',
  SD: 'Thunder',
  SM: 'SoMud',
  SP: 'BitSpirit',
  ST: 'SymTorrent',
  st: 'sharktorrent',
  SZ: 'Shareaza',
  TL: 'Tribler',
  TN: 'TorrentDotNET',
  TR: 'Transmission',
  TS: 'Torrentstorm',
  TT: 'TuoTu',
  UL: 'uLeecher!',
  UM: 'µTorrent Mac',
  UT: 'µTorrent',
  UW: 'µTorrent Web',
  VG: 'Vagaa',
  WD: 'WebTorrent Desktop',
  WT: 'BitLet',
  WW: 'WebTorrent',
  WY: 'FireTorrent',
  XL: 'Xunlei',
  XT: 'XanTorrent',
  ZT: 'ZipTorrent',
};

/** Shadow-style first letters. */
export const SHADOW_CLIENTS: Readonly<Record<string, string>> = {
  A: 'ABC',
  O: 'Osprey Permaseed',
  Q: 'BTQueue',
  R: 'Tribler',
  S: 'Shadow',
  T: 'BitTornado',
  U: 'UPnP NAT Bit Torrent',
};

/** Clients whose four version characters are all significant (`-AZ5770-` Vuze 5.7.7.0). */
const FOUR_PART = new Set(['AZ', 'BI']);

export function peerClient(id: Uint8Array): PeerClient {
  const ascii = asciiPrefix(id, 20);
  return azureus(ascii) ?? mainline(ascii) ?? shadow(ascii) ?? unknown(ascii);
}

/** `qBittorrent 4.6.5`, an unlisted Azureus-style tag, or `unknown`. */
export function peerClientText(id: Uint8Array): string {
  const c = peerClient(id);
  return c.version ? `${c.name} ${c.version}` : c.name;
}

/** The name a breakdown counts a peer under: the client's name, or `other` when it is not known. */
export const clientFamily = (c: PeerClient): string => (c.known ? c.name : 'other');

/** How many peers each client family has, most first, ties by name. */
export function clientBreakdown(families: readonly string[]): { readonly name: string; readonly count: number }[] {
  const counts = new Map<string, number>();
  for (const f of families) counts.set(f, (counts.get(f) ?? 0) + 1);
  return [...counts]
    .map(([name, count]) => ({ name, count }))
    .sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function azureus(s: string): PeerClient | null {
  if (s.length < 8 || s[0] !== '-' || s[7] !== '-') return null;
  const code = s.slice(1, 3);
  const name = AZUREUS_CLIENTS[code];
  if (!name) return null;
  const v = s.slice(3, 7);
  return { name, version: azureusVersion(code, v), known: true };
}

/** A version character: 0-9, then A-Z as 10-35 (libtorrent, Deluge: `-DE13F0-` is 1.3.15); else null. */
function digit(c: string | undefined): number | null {
  if (c === undefined) return null;
  if (c >= '0' && c <= '9') return c.charCodeAt(0) - 48;
  if (c >= 'A' && c <= 'Z') return c.charCodeAt(0) - 55;
  return null;
}

function azureusVersion(code: string, v: string): string {
  const [a, b, c, d] = [...v].map(digit);
  if (a === null || b === null || c === null) return '';
  // Transmission before 4: major and a two-digit minor (`-TR2940-` 2.94, `-TR3000-` 3.00); from 4 on, three parts.
  if (code === 'TR' && a !== undefined && a < 4) return `${a}.${v[1]}${v[2]}`;
  // BitComet: a two-digit major and a two-digit minor (`-BC0150-` 1.50).
  if (code === 'BC' && /^\d{4}$/.test(v)) return `${Number(v.slice(0, 2))}.${v.slice(2)}`;
  // WebTorrent: two-digit major and minor (`-WW0105-` 1.5).
  if ((code === 'WW' || code === 'WD') && /^\d{4}$/.test(v)) return `${Number(v.slice(0, 2))}.${Number(v.slice(2))}`;
  if (FOUR_PART.has(code) && d !== null && d !== undefined) return `${a}.${b}.${c}.${d}`;
  // The fourth character is a build or a tag (µTorrent's `-UT355W-`); shown only when it is a non-zero digit.
  return d !== null && d !== undefined && d > 0 && d < 10 ? `${a}.${b}.${c}.${d}` : `${a}.${b}.${c}`;
}

function mainline(s: string): PeerClient | null {
  const m = /^M(\d{1,2})-(\d{1,2})-(\d{1,2})-/.exec(s);
  return m ? { name: 'Mainline', version: `${m[1]}.${m[2]}.${m[3]}`, known: true } : null;
}

/** Shadow's alphabet: 0-9, A-Z, a-z, `.`, `-` for 0..63; a version ends at the first `-`. */
function shadow(s: string): PeerClient | null {
  const name = SHADOW_CLIENTS[s[0] ?? ''];
  if (!name) return null;
  // Up to five version characters, then dashes up to offset 8 at least (`S58B-----`).
  const m = /^[A-Z]([0-9A-Za-z.]{1,5})(-+)/.exec(s);
  if (!m || 1 + m[1]!.length + m[2]!.length < 6) return null;
  const parts = [...m[1]!].map((c) => String(shadowDigit(c)));
  return { name, version: parts.join('.'), known: true };
}

function shadowDigit(c: string): number {
  if (c >= '0' && c <= '9') return c.charCodeAt(0) - 48;
  if (c >= 'A' && c <= 'Z') return c.charCodeAt(0) - 55;
  if (c >= 'a' && c <= 'z') return c.charCodeAt(0) - 61;
  return 62; // '.'
}

const AZUREUS_TAG = /^-[0-9A-Za-z~]{2}[0-9A-Za-z.]{4}-/;

function unknown(s: string): PeerClient {
  const tag = AZUREUS_TAG.exec(s);
  return { name: tag ? tag[0] : 'unknown', version: '', known: false };
}

/** The leading printable ASCII characters of the ID (at most `max`). */
function asciiPrefix(id: Uint8Array, max: number): string {
  let out = '';
  for (let i = 0; i < id.length && i < max; i++) {
    const b = id[i]!;
    if (b < 0x20 || b >= 0x7f) break;
    out += String.fromCharCode(b);
  }
  return out;
}
