/**
 * A frame parser for stompjs that works on Buffers. stompjs' own (7.x) handles every received byte with a JS
 * call and pushes it into an array: profiled here, a joiner spent half its CPU in it while taking a 27 MB state
 * transfer, and its event loop stalled for seconds (long enough for it to judge its Master silent). This one finds
 * line ends and the NUL with indexOf, copies each body once, and hands stompjs the same raw frames (command,
 * headers as read, binary body) and heart-beats, so everything above the parser is unchanged.
 *
 * stompjs makes its Parser inside the connection handler, so it cannot be passed one: `installBufferParser` replaces
 * the prototype's `parseChunk` (once, for every client of the process) and keeps the rest of the class.
 */
import { Parser } from '@stomp/stompjs';

const LF = 10;
const CR = 13;
const NUL = 0;

type RawFrame = { command: string | undefined; headers: [string, string][]; binaryBody: Uint8Array | undefined };

/** The fields stompjs' Parser is built with, plus what this parser keeps between chunks. */
type ParserState = {
  onFrame(f: RawFrame): void;
  onIncomingPing(): void;
  bufferParser?: { chunks: Buffer[]; length: number; need: number };
};

type Parsed = { readonly end: number; readonly frame: RawFrame } | { readonly need: number };

let installed = false;

export function installBufferParser(): void {
  if (installed) return;
  installed = true;
  (Parser.prototype as unknown as { parseChunk: typeof parseChunk }).parseChunk = parseChunk;
}

function parseChunk(this: ParserState, segment: string | ArrayBuffer, appendMissingNULLonIncoming = false): void {
  let chunk = typeof segment === 'string' ? Buffer.from(segment, 'utf8') : Buffer.from(segment);
  if (appendMissingNULLonIncoming && chunk[chunk.length - 1] !== NUL) chunk = Buffer.concat([chunk, Buffer.from([NUL])]);
  this.bufferParser ??= { chunks: [], length: 0, need: 0 };
  const held = this.bufferParser;
  held.chunks.push(chunk);
  held.length += chunk.length;
  // A large body arrives in many reads: look again only once all of it can be there.
  if (held.length < held.need) return;
  const data = held.chunks.length === 1 ? held.chunks[0]! : Buffer.concat(held.chunks, held.length);
  let at = 0;
  let need = 0;
  while (at < data.length) {
    const b = data[at]!;
    if (b === LF || b === CR || b === NUL) {
      if (b === LF) this.onIncomingPing(); // a heart-beat
      at++;
      continue;
    }
    const r = parseFrame(data, at);
    if ('need' in r) {
      need = r.need - at;
      break;
    }
    at = r.end;
    this.onFrame(r.frame);
  }
  const rest = at < data.length ? Buffer.from(data.subarray(at)) : null;
  this.bufferParser = { chunks: rest ? [rest] : [], length: rest ? rest.length : 0, need };
}

/** One frame starting at `from`: where it ends (after its NUL), or how many bytes from the start it needs at least. */
function parseFrame(data: Buffer, from: number): Parsed {
  const lines: string[] = [];
  let at = from;
  for (;;) {
    const nl = data.indexOf(LF, at);
    if (nl < 0) return { need: data.length + 1 };
    const end = nl > at && data[nl - 1] === CR ? nl - 1 : nl;
    const line = data.toString('utf8', at, end);
    at = nl + 1;
    if (line === '') break;
    lines.push(line);
  }
  const command = lines[0];
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers.push(colon < 0 ? [line, ''] : [line.slice(0, colon), line.slice(colon + 1)]);
  }
  const length = headers.find((h) => h[0] === 'content-length');
  let bodyEnd: number;
  const declared = length ? Number.parseInt(length[1], 10) : Number.NaN;
  if (Number.isSafeInteger(declared) && declared >= 0) {
    bodyEnd = at + declared;
    if (bodyEnd + 1 > data.length) return { need: bodyEnd + 1 };
  } else {
    bodyEnd = data.indexOf(NUL, at);
    if (bodyEnd < 0) return { need: data.length + 1 };
  }
  const binaryBody = new Uint8Array(data.subarray(at, bodyEnd)); // a copy: the chunk's memory is not kept
  return { end: bodyEnd + 1, frame: { command, headers, binaryBody } };
}
