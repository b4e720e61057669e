/** Small formatting helpers shared by the tabs (pure): sizes, ages, cutting, columns that fit, sparklines. */
export function bytes(n: bigint | null): string {
  if (n === null) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = Number(n);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

export function age(ms: number): string {
  if (ms < 0) ms = 0;
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** `s` in exactly `width` characters: padded, or cut with `…`. */
export function cut(s: string, width: number): string {
  if (width <= 0) return '';
  return s.length <= width ? s.padEnd(width) : `${s.slice(0, width - 1)}…`;
}

/** `s` in exactly `width` characters, cut in the middle (`[2001:db8:…:7000]:51413`: both ends stay readable). */
export function cutMiddle(s: string, width: number): string {
  if (width <= 0) return '';
  if (s.length <= width) return s.padEnd(width);
  const tail = Math.floor((width - 1) / 2);
  return `${s.slice(0, width - 1 - tail)}…${s.slice(s.length - tail)}`;
}

/** `s` in at most `width` characters, cut with `…` (no padding). */
export const clip = (s: string, width: number): string => (s.length <= width ? s : cut(s, width));

/** The time of day of a millisecond time stamp, UTC (`01:50:19Z`). */
export const clock = (ms: number): string => `${new Date(ms).toISOString().slice(11, 19)}Z`;

/**
 * A table column. `width` is the least it needs; a column with `max` above it takes spare width up to `max`
 * (`Infinity`: all that is left); `grow` orders who gets spare width first (lower first, then column order).
 * `drop`: columns with a higher value leave first when the terminal is too narrow; 0 never leaves. `cut`: where a
 * value too long for its column loses characters.
 */
export type Column<K extends string = string> = {
  readonly key: K;
  readonly title: string;
  readonly width: number;
  readonly max?: number;
  readonly align?: 'left' | 'right';
  readonly drop?: number;
  readonly grow?: number;
  readonly cut?: 'end' | 'middle';
};

/**
 * The columns that fit in `width` (one space between columns), in their order, each with its final width:
 * the least important ones are dropped until the rest fit, then spare width goes to the growing columns in order.
 */
export function fitColumns<K extends string>(columns: readonly Column<K>[], width: number): Column<K>[] {
  let kept = [...columns];
  const need = (cs: readonly Column<K>[]): number => cs.reduce((n, c) => n + c.width, 0) + Math.max(0, cs.length - 1);
  while (need(kept) > width) {
    const victim = kept.reduce<Column<K> | null>((v, c) => ((c.drop ?? 0) > (v?.drop ?? 0) ? c : v), null);
    if (!victim) break;
    kept = kept.filter((c) => c !== victim);
  }
  let spare = width - need(kept);
  const widths = new Map(kept.map((c) => [c, c.width]));
  const growing = kept.map((c, i) => ({ c, i })).sort((a, b) => (a.c.grow ?? 0) - (b.c.grow ?? 0) || a.i - b.i);
  for (const { c } of growing) {
    const grow = Math.max(0, Math.min(spare, (c.max ?? c.width) - c.width));
    spare -= grow;
    widths.set(c, c.width + grow);
  }
  return kept.map((c) => ({ ...c, width: widths.get(c)! }));
}

/** One line of a table: every cell cut or padded to its column, numbers aligned right. */
export function tableLine<K extends string>(columns: readonly Column<K>[], cells: Readonly<Record<K, string>>): string {
  return columns
    .map((c) => {
      const v = cells[c.key];
      if (c.align === 'right' && v.length <= c.width) return v.padStart(c.width);
      return c.cut === 'middle' ? cutMiddle(v, c.width) : cut(v, c.width);
    })
    .join(' ');
}

/** The header line of a table. */
export function tableHeader<K extends string>(columns: readonly Column<K>[]): string {
  return tableLine(columns, Object.fromEntries(columns.map((c) => [c.key, c.title])) as Record<K, string>);
}

const BLOCKS = '▁▂▃▄▅▆▇█';

/**
 * The last `width` values as unicode blocks, scaled from 0 (▁) to the largest value shown (█); null (no data, no
 * commit in that second) is a space. Fewer values than `width` are padded with spaces on the left.
 */
export function sparkline(values: readonly (number | null)[], width: number): string {
  if (width <= 0) return '';
  const shown = values.slice(Math.max(0, values.length - width));
  let top = 0;
  for (const v of shown) if (v !== null && v > top) top = v;
  const cells = shown.map((v) => {
    if (v === null) return ' ';
    if (top <= 0 || v <= 0) return BLOCKS[0]!;
    return BLOCKS[Math.min(BLOCKS.length - 1, Math.round((v / top) * (BLOCKS.length - 1)))]!;
  });
  return cells.join('').padStart(width);
}

/** A rate or a latency in at most 7 characters: `0`, `12.5`, `1234`, `12.3k`. */
export function amount(v: number | null): string {
  if (v === null) return '–';
  if (v >= 100_000) return `${Math.round(v / 1000)}k`;
  if (v >= 10_000) return `${(v / 1000).toFixed(1)}k`;
  if (v >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return v.toFixed(1);
}
