/** The HTTP tracker over real sockets on 127.0.0.1 with a fake handler: routing, failures, limits, /metrics. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import net from 'node:net';
import { decodeBencode, type BDict } from '../../src/torrent/bencode.js';
import { encodeBencode } from '../../src/http/bencode-encode.js';
import type { HttpTrackerRequest } from '../../src/http/query.js';
import { startHttpTracker, type HttpFrom, type HttpRequestEvent, type HttpTrackerServer } from '../../streams/http-server.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';

type Seen = { req: HttpTrackerRequest; from: HttpFrom };
type Ctx = { server: HttpTrackerServer; seen: Seen[]; events: HttpRequestEvent[]; logs: string[]; metrics: Metrics; fail: boolean };
const test = suite<Ctx>('http server', {} as Ctx);

test.before.each(async (ctx) => {
  ctx.seen = [];
  ctx.events = [];
  ctx.logs = [];
  ctx.fail = false;
  ctx.metrics = createMetrics({ swarmStats: () => ({ swarms: 2, peers: 5 }) });
  const r = await startHttpTracker({
    host: '127.0.0.1',
    port: 0,
    log: (s) => ctx.logs.push(s),
    metrics: () => ctx.metrics.text(),
    onRequest: (e) => {
      ctx.events.push(e);
      ctx.metrics.requests.inc({ protocol: 'http', action: e.action === 'metrics' ? 'other' : e.action });
      if (e.outcome !== 'ok') ctx.metrics.errors.inc({ protocol: 'http', action: e.action === 'metrics' ? 'other' : e.action });
    },
    handle: async (req, from) => {
      ctx.seen.push({ req, from });
      if (ctx.fail) throw new Error('handler exploded');
      const r =
        req.action === 'announce'
          ? encodeBencode({ interval: 60, complete: 1, incomplete: 0, peers: Buffer.from([127, 0, 0, 1, 0x1a, 0xe1]) })
          : encodeBencode({ files: new Map([[req.infoHashes[0] ?? Buffer.alloc(20), { complete: 0, downloaded: 0, incomplete: 0 }]]) });
      return r.ok ? r.data : Buffer.alloc(0);
    },
  });
  if (!r.ok) throw new Error(r.error);
  ctx.server = r.server;
});
test.after.each(async (ctx) => {
  await ctx.server.close();
});

type Res = { status: number; headers: http.IncomingHttpHeaders; body: Buffer };
/** node's http.get, with its own agent so keep-alive sockets do not outlive the test. */
function get(port: number, path: string, method = 'GET', body?: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const agent = new http.Agent({ keepAlive: false });
    const headers = body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(body)) };
    const req = http.request({ host: '127.0.0.1', port, path, method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
/** Raw bytes on a TCP socket: for what http.get will not send. */
function raw(port: number, data: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(data));
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('error', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}
const dict = (b: Buffer): BDict => {
  const r = decodeBencode(b);
  if (!r.ok) throw new Error(`not bencode: ${b.toString('latin1')}`);
  return r.value as BDict;
};
const reason = (b: Buffer): string => (dict(b).get('failure reason') as Buffer).toString();

const HASH = Buffer.from(Array.from({ length: 20 }, (_, i) => (i * 53 + 0x80) & 0xff));
const enc = (b: Buffer): string => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('');
const ANNOUNCE = `/announce?info_hash=${enc(HASH)}&peer_id=${enc(Buffer.alloc(20, 0))}&port=6881&uploaded=0&downloaded=0&left=5&event=started&compact=1`;

test('announce reaches the handler with exact bytes and the sender; its body is returned', async (ctx) => {
  const r = await get(ctx.server.port, ANNOUNCE);
  assert.is(r.status, 200);
  assert.is(r.headers['content-type'], 'text/plain');
  assert.is(dict(r.body).get('interval'), 60n);
  assert.is(ctx.seen.length, 1);
  const { req, from } = ctx.seen[0]!;
  assert.is(req.action, 'announce');
  if (req.action === 'announce') {
    assert.ok(req.infoHash.equals(HASH));
    assert.ok(req.peerId.equals(Buffer.alloc(20, 0)));
    assert.is(req.left, 5n);
  }
  assert.is(from.address, '127.0.0.1');
  assert.ok(from.port > 0);
  assert.equal(ctx.events, [{ action: 'announce', outcome: 'ok' }]);
});

test('scrape with one hash', async (ctx) => {
  const r = await get(ctx.server.port, `/scrape?info_hash=${enc(HASH)}`);
  assert.is(r.status, 200);
  const files = dict(r.body).get('files') as BDict;
  assert.ok(files.has(HASH.toString('latin1')));
  const req = ctx.seen[0]!.req;
  assert.ok(req.action === 'scrape' && req.infoHashes.length === 1 && req.infoHashes[0]!.equals(HASH));
});

test('malformed queries: 200 with a failure reason, the handler never called', async (ctx) => {
  const cases: Array<[string, string]> = [
    ['/announce', 'missing info_hash'],
    [ANNOUNCE.replace('port=6881', 'port=0'), 'invalid port 0'],
    [ANNOUNCE.replace(`info_hash=${enc(HASH)}`, `info_hash=${enc(HASH.subarray(1))}`), 'info_hash must be 20 bytes (got 19)'],
    [ANNOUNCE.replace('left=5', 'left=-1'), 'left must not be negative'],
    [ANNOUNCE.replace('event=started', 'event=bogus'), 'unknown event'],
    ['/scrape?info_hash=%zz', 'malformed percent-encoding'],
    [`/scrape?${Array.from({ length: 75 }, () => `info_hash=${'a'.repeat(20)}`).join('&')}`, 'too many info hashes'],
  ];
  for (const [path, text] of cases) {
    const r = await get(ctx.server.port, path);
    assert.is(r.status, 200, path);
    assert.ok(reason(r.body).includes(text), `${path}: ${reason(r.body)}`);
  }
  assert.is(ctx.seen.length, 0);
  assert.ok(ctx.events.every((e) => e.outcome === 'failure'));
});

test('unknown paths 404, other methods 405 with Allow, a GET body 400', async (ctx) => {
  for (const p of ['/', '/announce/', '/favicon.ico', '/stats?x=1']) assert.is((await get(ctx.server.port, p)).status, 404, p);
  for (const m of ['POST', 'PUT', 'DELETE', 'HEAD']) {
    const r = await get(ctx.server.port, ANNOUNCE, m, m === 'POST' ? 'x=1' : undefined);
    assert.is(r.status, 405, m);
    assert.is(r.headers.allow, 'GET');
  }
  const withBody = await get(ctx.server.port, ANNOUNCE, 'GET', 'surprise');
  assert.is(withBody.status, 400);
  assert.is(withBody.headers.connection, 'close');
  assert.is(ctx.seen.length, 0);
});

test('a target over 6 KB gets 414; oversized headers and garbage get 4xx from the parser; the server lives on', async (ctx) => {
  const long = await get(ctx.server.port, `${ANNOUNCE}&pad=${'x'.repeat(6144)}`);
  assert.is(long.status, 414);
  const huge = await raw(ctx.server.port, `GET /announce?${'y'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  assert.ok(huge.startsWith('HTTP/1.1 431'), huge.slice(0, 40));
  const garbage = await raw(ctx.server.port, Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x0d, 0x0a, 0x0d, 0x0a]));
  assert.ok(garbage.startsWith('HTTP/1.1 400'), garbage.slice(0, 40));
  // raw bytes ≥ 0x80 in the target: node's parser refuses them (RFC 3986 wants them percent-encoded)
  const unencoded = await raw(
    ctx.server.port,
    Buffer.concat([
      Buffer.from('GET /announce?info_hash='),
      Buffer.alloc(20, 0x80),
      Buffer.from(`&peer_id=${'p'.repeat(20)}&port=1&uploaded=0&downloaded=0&left=0 HTTP/1.1\r\n\r\n`),
    ]),
  );
  assert.ok(unencoded.startsWith('HTTP/1.1 400'), unencoded.slice(0, 40));
  assert.is(ctx.seen.length, 0);
  // HTTP/1.0 without Host is served
  const old = await raw(ctx.server.port, `GET ${ANNOUNCE} HTTP/1.0\r\n\r\n`);
  assert.ok(old.startsWith('HTTP/1.1 200'), old.slice(0, 40));
  const last = ctx.seen.at(-1)!.req;
  assert.ok(last.action === 'announce' && last.infoHash.equals(HASH));
  // a chunked body on a GET is refused without being read
  const chunked = await raw(
    ctx.server.port,
    `GET ${ANNOUNCE} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
  );
  assert.ok(chunked.startsWith('HTTP/1.1 400'), chunked.slice(0, 40));
  assert.is(ctx.seen.length, 1);
  assert.is((await get(ctx.server.port, ANNOUNCE)).status, 200);
});

test('a failing handler gives 500 with a bencoded failure and a log line', async (ctx) => {
  ctx.fail = true;
  const r = await get(ctx.server.port, ANNOUNCE);
  assert.is(r.status, 500);
  assert.is(reason(r.body), 'internal error');
  assert.ok(ctx.logs.some((l) => l.includes('handler exploded')));
  assert.equal(ctx.events.at(-1), { action: 'announce', outcome: 'error' });
});

test('keep-alive: several requests on one connection', async (ctx) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set<unknown>();
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: ctx.server.port, path: ANNOUNCE, agent }, (res) => {
          sockets.add(res.socket);
          res.resume();
          res.on('end', () => resolve());
        })
        .on('error', reject);
    });
  }
  assert.is(sockets.size, 1);
  assert.is(ctx.seen.length, 3);
  agent.destroy();
});

test('/metrics: Prometheus text with the metric names, after some traffic', async (ctx) => {
  await get(ctx.server.port, ANNOUNCE);
  await get(ctx.server.port, '/announce?bad');
  await get(ctx.server.port, `/scrape?info_hash=${enc(HASH)}`);
  const r = await get(ctx.server.port, '/metrics');
  assert.is(r.status, 200);
  assert.ok(String(r.headers['content-type']).startsWith('text/plain'));
  const text = r.body.toString();
  for (const name of [
    'tracker_requests_total',
    'tracker_request_errors_total',
    'tracker_swarms',
    'tracker_peers',
    'tracker_commit_latency_seconds_bucket',
  ]) {
    assert.ok(text.includes(name), name);
  }
  assert.ok(
    text.includes('tracker_requests_total{protocol="http",action="announce"} 2'),
    text
      .split('\n')
      .filter((l) => l.startsWith('tracker_requests'))
      .join('\n'),
  );
  assert.ok(text.includes('tracker_request_errors_total{protocol="http",action="announce"} 1'));
  assert.ok(text.includes('tracker_requests_total{protocol="http",action="scrape"} 1'));
  assert.ok(text.includes('tracker_swarms 2'));
  assert.ok(text.includes('tracker_peers 5'));
  assert.is((await get(ctx.server.port, '/metrics', 'POST')).status, 405);
});

test.run();

// Separate: start-up failures are values; /metrics is 404 without a source; close() is idempotent.
const more = suite('http server start and stop');
more('a port in use is an error value; close twice is fine', async () => {
  const a = await startHttpTracker({ host: '127.0.0.1', port: 0, log: () => {}, handle: async () => Buffer.alloc(0) });
  assert.ok(a.ok);
  if (!a.ok) return;
  const b = await startHttpTracker({ host: '127.0.0.1', port: a.server.port, log: () => {}, handle: async () => Buffer.alloc(0) });
  assert.not.ok(b.ok);
  if (!b.ok) assert.ok(b.error.includes('EADDRINUSE'), b.error);
  assert.is((await get(a.server.port, '/metrics')).status, 404);
  await a.server.close();
  await a.server.close();
  const again = await get(a.server.port, '/metrics').then(
    () => 'answered',
    () => 'refused',
  );
  assert.is(again, 'refused');
});
more('without handle: a metrics-only listener, /announce and /scrape are 404', async () => {
  const m = createMetrics();
  const r = await startHttpTracker({ host: '127.0.0.1', port: 0, log: () => {}, metrics: () => m.text() });
  if (!r.ok) throw new Error(r.error);
  assert.is((await get(r.server.port, ANNOUNCE)).status, 404);
  assert.is((await get(r.server.port, '/scrape')).status, 404);
  const metrics = await get(r.server.port, '/metrics');
  assert.is(metrics.status, 200);
  assert.ok(metrics.body.toString().includes('tracker_epoch'));
  await r.server.close();
});
more('close() does not wait for idle keep-alive connections or pending handlers', async () => {
  let release: () => void = () => {};
  const r = await startHttpTracker({
    host: '127.0.0.1',
    port: 0,
    log: () => {},
    handle: () => new Promise<Buffer>((res) => (release = () => res(Buffer.from('de')))),
  });
  if (!r.ok) throw new Error(r.error);
  const pending = get(r.server.port, ANNOUNCE).then(
    () => 'answered',
    () => 'cut',
  );
  await new Promise((res) => setTimeout(res, 50));
  await r.server.close();
  assert.is(await pending, 'cut');
  release(); // an answer after close is dropped quietly
});
more.run();
