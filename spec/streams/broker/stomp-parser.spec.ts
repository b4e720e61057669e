/** The Buffer-based STOMP frame parser: the raw frames and heart-beats stompjs expects, however bytes are split. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Parser } from '@stomp/stompjs';
import { installBufferParser } from '../../../streams/broker/stomp-parser.js';

installBufferParser();

type Raw = { command: string | undefined; headers: [string, string][]; binaryBody: Uint8Array | undefined };

function parse(chunks: readonly Buffer[]): {
  frames: Array<{ command: string; headers: [string, string][]; body: string }>;
  pings: number;
} {
  const frames: Array<{ command: string; headers: [string, string][]; body: string }> = [];
  let pings = 0;
  const p = new Parser(
    (f: Raw) => frames.push({ command: f.command!, headers: f.headers, body: Buffer.from(f.binaryBody!).toString('utf8') }),
    () => pings++,
  );
  for (const c of chunks) p.parseChunk(c.buffer.slice(c.byteOffset, c.byteOffset + c.length) as ArrayBuffer);
  return { frames, pings };
}

const body = `{"data":"${'x'.repeat(70_000)}","é":"ü"}`;
const wire = Buffer.concat([
  Buffer.from('\n'),
  Buffer.from(`MESSAGE\ndestination:/queue/a\ncontent-length:${Buffer.byteLength(body)}\nsubscription:sub-0\n\n${body}\0\n`),
  Buffer.from('RECEIPT\r\nreceipt-id:c-1\r\n\r\n\0'),
  Buffer.from('MESSAGE\ndestination:/topic/t\nodd:a:b\n\nno length\0'),
]);
const expected = [
  {
    command: 'MESSAGE',
    headers: [
      ['destination', '/queue/a'],
      ['content-length', String(Buffer.byteLength(body))],
      ['subscription', 'sub-0'],
    ],
    body,
  },
  { command: 'RECEIPT', headers: [['receipt-id', 'c-1']], body: '' },
  {
    command: 'MESSAGE',
    headers: [
      ['destination', '/topic/t'],
      ['odd', 'a:b'],
    ],
    body: 'no length',
  },
];

test('frames with and without content-length, CRLF lines and heart-beats, in one chunk', () => {
  const r = parse([wire]);
  assert.equal(r.frames, expected);
  assert.is(r.pings, 2);
});

test('the same bytes split at every kind of boundary: one byte at a time, and in uneven pieces', () => {
  const bytes = [...Array(200).keys()].map((i) => wire.subarray(i, i + 1));
  const r1 = parse([...bytes, wire.subarray(200)]);
  assert.equal(r1.frames, expected);
  for (const size of [7, 1000, 65_536]) {
    const pieces: Buffer[] = [];
    for (let at = 0; at < wire.length; at += size) pieces.push(wire.subarray(at, at + size));
    assert.equal(parse(pieces).frames, expected, `pieces of ${size}`);
  }
});
test.run();
