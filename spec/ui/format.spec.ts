/** The UI's pure helpers as tables: cutting, fitting columns to a width, sparklines, amounts, times of day. */
import { SWARM_COLUMNS } from '../../src/ui/swarms-tab.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { amount, type Column, clip, clock, cut, cutMiddle, fitColumns, sparkline, tableHeader, tableLine } from '../../src/ui/format.js';

test('cut, cutMiddle and clip: exact widths, … where characters were lost', () => {
  const rows: readonly (readonly [string, number, string, string, string])[] = [
    // input, width, cut, cutMiddle, clip
    ['abc', 5, 'abc  ', 'abc  ', 'abc'],
    ['abcdef', 6, 'abcdef', 'abcdef', 'abcdef'],
    ['abcdefgh', 6, 'abcde…', 'abc…gh', 'abcde…'],
    ['[2001:db8::1]:51413', 12, '[2001:db8::…', '[2001:…51413', '[2001:db8::…'],
    ['abc', 1, '…', '…', '…'],
    ['abc', 0, '', '', ''],
  ];
  for (const [s, w, c, m, k] of rows) {
    assert.is(cut(s, w), c, `cut(${s}, ${w})`);
    assert.is(cutMiddle(s, w), m, `cutMiddle(${s}, ${w})`);
    assert.is(clip(s, w), k, `clip(${s}, ${w})`);
  }
});

// The Swarms tab's own columns: the drop order tested is the one the tab uses.
const COLS = SWARM_COLUMNS;

test('fitColumns: the least important leave first, spare width to the growing column, never wider than asked', () => {
  const table: readonly (readonly [width: number, fitted: string])[] = [
    [200, 'name:64 size:10 seeders:7 leechers:8 done:6'],
    [78, 'name:43 size:10 seeders:7 leechers:8 done:6'],
    [51, 'name:16 size:10 seeders:7 leechers:8 done:6'],
    [50, 'name:22 size:10 seeders:7 leechers:8'],
    [44, 'name:16 size:10 seeders:7 leechers:8'],
    [43, 'name:26 seeders:7 leechers:8'],
    [33, 'name:16 seeders:7 leechers:8'],
    [32, 'name:24 seeders:7'],
    [30, 'name:22 seeders:7'],
    [10, 'name:16 seeders:7'], // nothing more may leave: the rest stays (the caller's Text truncates)
  ];
  for (const [width, fitted] of table) {
    const cs = fitColumns(COLS, width);
    assert.is(cs.map((c) => `${c.key}:${c.width}`).join(' '), fitted, `width ${width}`);
    if (width >= 24) assert.ok(tableHeader(cs).length <= width, `header at ${width}`);
  }
});

test('fitColumns: `grow` decides who gets spare width first', () => {
  const cs: readonly Column[] = [
    { key: 'a', title: 'A', width: 4, max: 10 },
    { key: 'b', title: 'B', width: 4, max: 10, grow: 2 },
    { key: 'c', title: 'C', width: 4, max: 10, grow: 1 },
  ];
  assert.is(
    fitColumns(cs, 24)
      .map((c) => c.width)
      .join(' '),
    '10 4 8',
  );
});

test('tableLine: right-aligned numbers, cut names, one space between columns', () => {
  const cs = fitColumns(COLS, 51);
  assert.is(
    tableLine(cs, { name: 'A long name that does not fit', size: '976.6 KiB', seeders: '93', leechers: '207', done: '0' }),
    'A long name tha…  976.6 KiB      93      207      0',
  );
  assert.is(tableHeader(cs), 'Content                Size Seeders Leechers   Done');
});

test('sparkline: scaled from 0 to the largest value shown, gaps for null, the newest on the right', () => {
  const table: readonly (readonly [values: (number | null)[], width: number, line: string])[] = [
    [[], 5, '     '],
    [[0, 0, 0], 3, '▁▁▁'],
    [[0, 1, 2, 3, 4, 5, 6, 7], 8, '▁▂▃▄▅▆▇█'],
    [[7, null, 7], 3, '█ █'],
    [[100, 1, 2, 4, 8], 4, '▂▃▅█'], // the oldest value scrolled out of the window does not scale the rest
    [[5], 4, '   █'],
    [[1, 2], 0, ''],
  ];
  for (const [values, width, line] of table) assert.is(sparkline(values, width), line, JSON.stringify(values));
});

test('amount and clock', () => {
  const table: readonly (readonly [number | null, string])[] = [
    [null, '–'],
    [0, '0'],
    [2.25, '2.3'],
    [12, '12'],
    [99.94, '99.9'],
    [1234.4, '1234'],
    [12_345, '12.3k'],
    [234_567, '235k'],
  ];
  for (const [v, s] of table) assert.is(amount(v), s, String(v));
  assert.is(clock(Date.UTC(2026, 0, 2, 1, 50, 19, 999)), '01:50:19Z');
});

test.run();
