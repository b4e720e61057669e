import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeBencode, MAX_DEPTH, type BValue } from '../../src/torrent/bencode.js';
import { bencode, type Enc } from '../helpers/bencode-encode.js';
import { mutate, prng } from '../helpers/prng.js';
import { singleFile } from '../helpers/torrent-fixtures.js';

const decode = (s: string | Buffer) => decodeBencode(typeof s === 'string' ? Buffer.from(s, 'latin1') : s);

/** Turns decoded values into plain JSON-comparable data (Buffers → latin1 text, Maps → entry lists). */
function plain(v: BValue): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (Buffer.isBuffer(v)) return { bytes: v.toString('latin1') };
  if (Array.isArray(v)) return v.map(plain);
  return [...v.entries()].map(([k, x]) => [k, plain(x)]);
}

function roundTrip(input: Enc, expected: unknown): void {
  const buf = bencode(input);
  const d = decodeBencode(buf);
  if (!d.ok) assert.unreachable(`decode failed: ${d.error}`);
  else {
    assert.equal(plain(d.value), expected);
    assert.is(d.end, buf.length);
  }
}

test('integers round-trip, including beyond 2^53 and negative', () => {
  for (const n of [0n, 1n, -1n, 42n, 2n ** 53n + 1n, 2n ** 64n - 1n, -(2n ** 70n)]) roundTrip(n, `${n}n`);
});

test('byte strings round-trip, empty and binary included', () => {
  roundTrip('', { bytes: '' });
  roundTrip('spam', { bytes: 'spam' });
  const bin = Buffer.from([0, 1, 0x65, 0xff, 0x3a]);
  roundTrip(bin, { bytes: bin.toString('latin1') });
  roundTrip('x'.repeat(10_000), { bytes: 'x'.repeat(10_000) });
});

test('lists and dicts round-trip, nested', () => {
  roundTrip([], []);
  roundTrip({}, []);
  roundTrip([1, 'a', [2, []], { k: 'v' }], ['1n', { bytes: 'a' }, ['2n', []], [['k', { bytes: 'v' }]]]);
  roundTrip({ b: 2, a: [1], c: { d: 'e' } }, [
    ['a', ['1n']],
    ['b', '2n'],
    ['c', [['d', { bytes: 'e' }]]],
  ]);
});

test('dict keys are latin1 strings, so binary keys are kept exactly', () => {
  const key = Buffer.from([0xc3, 0xa9, 0x00, 0xff]);
  const d = decode(Buffer.concat([Buffer.from('d4:'), key, Buffer.from('i1ee')]));
  assert.ok(d.ok && d.value instanceof Map);
  const [k] = d.ok && d.value instanceof Map ? [...d.value.keys()] : [];
  assert.equal(Buffer.from(k!, 'latin1'), key);
});

const malformed: Array<[string, string]> = [
  ['', 'empty input'],
  ['i03e', 'leading zero'],
  ['i-03e', 'negative leading zero'],
  ['i-0e', 'negative zero'],
  ['i00e', 'double zero'],
  ['ie', 'no digits'],
  ['i-e', 'only a minus'],
  ['i1', 'unterminated integer'],
  ['i1.5e', 'non-digit in integer'],
  ['i+1e', 'plus sign'],
  [`i${'9'.repeat(65)}e`, 'integer too long'],
  ['3:ab', 'length past the end'],
  ['1a:b', 'non-digit length'],
  ['-1:a', 'negative length'],
  ['5', 'length without colon'],
  [`${'9'.repeat(16)}:a`, 'huge length'],
  ['99999999999:a', 'length far past the end'],
  ['l', 'unterminated list'],
  ['li1e', 'unterminated list after item'],
  ['d', 'unterminated dict'],
  ['d1:a', 'key without value'],
  ['d1:ai1e', 'unterminated dict after value'],
  ['di1ei2ee', 'integer key'],
  ['dlei1ee', 'list key'],
  ['e', 'stray end'],
  ['x', 'unknown type byte'],
  ['l' + 'x' + 'e', 'unknown byte inside list'],
];

for (const [input, why] of malformed) {
  test(`rejects ${why}: ${JSON.stringify(input.length > 24 ? `${input.slice(0, 24)}…` : input)}`, () => {
    const d = decode(input);
    assert.is(d.ok, false);
    assert.type(!d.ok && d.error, 'string');
  });
}

test(`nesting is capped at ${MAX_DEPTH}`, () => {
  const nest = (n: number): string => 'l'.repeat(n) + 'e'.repeat(n);
  assert.ok(decode(nest(MAX_DEPTH)).ok);
  const deep = decode(nest(MAX_DEPTH + 1));
  assert.is(deep.ok, false);
  assert.match(!deep.ok ? deep.error : '', /nesting/);
  assert.is(decode('d1:a'.repeat(MAX_DEPTH + 1) + 'e'.repeat(MAX_DEPTH + 1)).ok, false);
  assert.is(decode('l'.repeat(1_000_000)).ok, false);
});

test('unsorted and duplicate dict keys are accepted; the last duplicate wins', () => {
  const d = decode('d1:bi1e1:ai2e1:bi3ee');
  assert.ok(d.ok);
  assert.equal(d.ok && plain(d.value), [
    ['b', '3n'],
    ['a', '2n'],
  ]);
});

test('string lengths with leading zeros are accepted', () => {
  const d = decode('03:abc');
  assert.equal(d.ok && plain(d.value), { bytes: 'abc' });
});

test('trailing bytes are not an error; end says where the value stopped', () => {
  const d = decode('i5etrailing');
  assert.ok(d.ok);
  assert.is(d.ok && d.end, 3);
});

test('spans give the raw byte range of each top-level value, exactly as written', () => {
  // Non-canonical inner dict (keys z before a): a re-encoder would sort them, the span must not.
  const inner = 'd1:zi1e1:a03:xyze';
  const buf = Buffer.from(`d4:info${inner}1:ni7ee`);
  const d = decodeBencode(buf);
  assert.ok(d.ok);
  if (!d.ok) return;
  const s = d.spans.get('info')!;
  assert.is(buf.toString('latin1', s.start, s.end), inner);
  const n = d.spans.get('n')!;
  assert.is(buf.toString('latin1', n.start, n.end), 'i7e');
  assert.is(d.spans.size, 2);
});

test('spans are only for the top level: empty for non-dicts and nested keys', () => {
  const list = decode('ld1:ai1eee');
  assert.ok(list.ok && list.spans.size === 0);
  const nested = decode('d1:xd1:yi1eee');
  assert.equal(nested.ok && [...nested.spans.keys()], ['x']);
});

test('2000 random buffers never throw', () => {
  const rnd = prng(1);
  const alphabet = Buffer.from('ilde:-0123456789ax');
  for (let i = 0; i < 2000; i++) {
    const len = rnd.int(64);
    // Half pure noise, half bencode-looking bytes that reach deeper into the decoder.
    const buf = i % 2 ? rnd.bytes(len) : Buffer.from(Array.from({ length: len }, () => alphabet[rnd.int(alphabet.length)]!));
    const d = decodeBencode(buf);
    assert.type(d.ok, 'boolean');
    if (d.ok) assert.ok(d.end <= buf.length);
  }
});

test('2000 mutations of a valid torrent never throw', () => {
  const rnd = prng(2);
  let buf = singleFile().buf;
  let oks = 0;
  for (let i = 0; i < 2000; i++) {
    // Every 10th round starts over so mutations do not drift too far from a torrent.
    buf = mutate(i % 10 === 0 ? singleFile().buf : buf, rnd);
    const d = decodeBencode(buf);
    if (d.ok) oks++;
  }
  assert.ok(oks > 0, 'some mutations should still decode');
});

test.run();
