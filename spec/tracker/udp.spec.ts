/** The single-instance tracker over real UDP sockets on loopback, with a real SQLite file and a virtual clock. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { asyncScheduler } from 'rxjs';
import { startTracker, type Tracker } from '../../src/node/tracker.js';
import { resolveConfig } from '../../src/config/index.js';
import { decodeCompactPeers } from '../../src/protocol/compact.js';
import { decodeReply } from '../../src/protocol/decode-reply.js';
import { encodeConnectRequest, encodeScrapeRequest } from '../../src/protocol/encode.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { tempDir } from '../helpers/temp.js';
import { announceRequest, openClient, type TestClient } from '../helpers/udp-client.js';

type Ctx = { tracker: Tracker; clock: ManualClock; dir: ReturnType<typeof tempDir>; clients: TestClient[] };
const T0 = 1_800_000_000_000;
const test = suite<Ctx>('udp tracker', {} as Ctx);

test.before.each(async (ctx) => {
  ctx.dir = tempDir('tracker');
  ctx.clock = new ManualClock(T0);
  ctx.clients = [];
  const r = await startTracker(
    resolveConfig({
      id: 1,
      network: { host: '127.0.0.1', port: 0 },
      storage: { db: join(ctx.dir.path, 't.sqlite') },
      policy: { intervalS: 60, peerTtlS: 120 },
      cluster: { batchMs: 1 },
    }),
    { scheduler: asyncScheduler, clock: ctx.clock, key: randomBytes(32), log: () => {} },
  );
  if (!r.ok) throw new Error(r.error);
  ctx.tracker = r.tracker;
});
test.after.each(async (ctx) => {
  for (const c of ctx.clients) await c.close();
  await ctx.tracker.stop();
  ctx.dir.remove();
});

const client = async (ctx: Ctx): Promise<TestClient> => {
  const c = await openClient({ host: '127.0.0.1', port: ctx.tracker.port });
  ctx.clients.push(c);
  return c;
};
/** Rows as stored: the mirror is written by a worker thread, so wait until it has caught up. */
const rows = async (ctx: Ctx, sql: string): Promise<unknown[]> => {
  await ctx.tracker.sqlite.flush();
  const db = new Database(ctx.tracker.sqlite.path, { readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
};

test('connect, announce and scrape; counts, compact peers without the requester', async (ctx) => {
  const ih = randomBytes(20);
  const [a, b, c] = [await client(ctx), await client(ctx), await client(ctx)];
  const ra = await a.announce({ infoHash: ih });
  assert.equal(ra.action === 'announce' && [ra.leechers, ra.seeders, ra.peers.length, ra.interval], [1, 0, 0, 60]);
  await b.announce({ infoHash: ih, left: 0n });
  const rc = await c.announce({ infoHash: ih });
  assert.ok(rc.action === 'announce');
  if (rc.action !== 'announce') return;
  assert.equal([rc.leechers, rc.seeders], [2, 1]);
  const ports = decodeCompactPeers(rc.peers, 4)
    .map((p) => p.port)
    .sort();
  assert.equal(ports, [a.port, b.port].sort());
  assert.is(rc.peers.length, 12);
  const s = await a.scrape([ih, randomBytes(20)]);
  assert.equal(s.action === 'scrape' && s.entries, [
    { seeders: 1, completed: 0, leechers: 2 },
    { seeders: 0, completed: 0, leechers: 0 },
  ]);
});

test('every committed announce is in SQLite; stopped peers leave both stores; completed is counted', async (ctx) => {
  const ih = randomBytes(20);
  const [a, b] = [await client(ctx), await client(ctx)];
  const pid = randomBytes(20);
  await a.announce({ infoHash: ih, peerId: pid, downloaded: 5n, left: 10n });
  const bid = randomBytes(20);
  await b.announce({ infoHash: ih, peerId: bid });
  assert.equal(await rows(ctx, 'SELECT port, downloaded, left FROM peers ORDER BY port'), [
    { port: Math.min(a.port, b.port), downloaded: a.port < b.port ? 5 : 0, left: a.port < b.port ? 10 : 1000 },
    { port: Math.max(a.port, b.port), downloaded: a.port < b.port ? 0 : 5, left: a.port < b.port ? 1000 : 10 },
  ]);
  await a.announce({ infoHash: ih, peerId: pid, event: 1, left: 0n, downloaded: 15n });
  const stop = await b.announce({ infoHash: ih, peerId: bid, event: 3 });
  assert.ok(stop.action === 'announce');
  const s = await a.scrape([ih]);
  assert.equal(s.action === 'scrape' && s.entries, [{ seeders: 1, completed: 1, leechers: 0 }]);
  assert.equal(await rows(ctx, 'SELECT count(*) AS n FROM peers'), [{ n: 1 }]);
  assert.equal(await rows(ctx, 'SELECT completed FROM torrents'), [{ completed: 1 }]);
});

test('alone, nothing waits for a broker receipt: no round leaves anything behind', async (ctx) => {
  const ih = randomBytes(20);
  const a = await client(ctx);
  for (let i = 0; i < 20; i++) await a.announce({ infoHash: ih, peerId: randomBytes(20) });
  const text = await ctx.tracker.metrics.text();
  assert.match(text, /^tracker_consensus_rounds_total\{[^}]*outcome="committed"[^}]*\} ([1-9]\d*)$/m);
  assert.match(text, /^tracker_commits_awaiting_receipt\{[^}]*\} 0$/m);
});

test('peers that stop announcing expire on the (virtual) clock, without per-peer timers', async (ctx) => {
  const ih = randomBytes(20);
  const [a, b] = [await client(ctx), await client(ctx)];
  await a.announce({ infoHash: ih });
  ctx.clock.advance(100_000);
  await b.announce({ infoHash: ih }); // b is fresher than a by 100 s
  ctx.clock.advance(60_000); // a: 160 s old (> ttl 120), b: 60 s
  const s = await b.scrape([ih]);
  assert.equal(s.action === 'scrape' && s.entries, [{ seeders: 0, completed: 0, leechers: 1 }]);
  assert.equal(await rows(ctx, 'SELECT count(*) AS n FROM peers'), [{ n: 1 }]);
  ctx.clock.advance(200_000);
  const t = await b.scrape([ih]);
  assert.equal(t.action === 'scrape' && t.entries, [{ seeders: 0, completed: 0, leechers: 0 }]);
  assert.equal(await rows(ctx, 'SELECT count(*) AS n FROM torrents'), [{ n: 0 }]);
});

test('bad input never crashes the tracker: each gets an error reply no larger than itself, or nothing', async (ctx) => {
  const ih = randomBytes(20);
  const a = await client(ctx);
  await a.announce({ infoHash: ih });
  const digest = ctx.tracker.repo.digest();
  const cid = await a.connect();
  const oldCid = cid;
  const expect = async (name: string, data: Buffer, want: RegExp | null): Promise<void> => {
    const r = await a.raw(data, want ? 1500 : 200);
    if (want === null) {
      assert.is(r, null, `${name}: expected no reply`);
      return;
    }
    assert.ok(r, `${name}: expected an error reply`);
    const d = decodeReply(r!);
    assert.ok(d.action === 'error', `${name}: got ${d.action}`);
    if (d.action === 'error') assert.match(d.message, want, name);
  };
  const announceWith = (id: bigint): Buffer => announceRequest({ connectionId: id, transactionId: 1, infoHash: ih, left: 0n, port: 1 });
  const unknownAction = encodeConnectRequest(5);
  unknownAction.writeBigUInt64BE(cid, 0);
  unknownAction.writeUInt32BE(7, 8);
  const wrongMagic = encodeConnectRequest(5);
  wrongMagic.writeUInt32BE(0x12345678, 0);

  await expect('empty', Buffer.alloc(0), null);
  await expect('3 bytes', Buffer.from([1, 2, 3]), null);
  await expect('wrong magic', wrongMagic, null);
  await expect('forged connection ID', announceWith(cid ^ 0xffn), /connection ID invalid/);
  await expect('unknown action', unknownAction, /unknown action/);
  await expect(
    '200 scrape hashes',
    encodeScrapeRequest(
      cid,
      9,
      Array.from({ length: 200 }, () => randomBytes(20)),
    ),
    /too many info hashes/,
  );
  for (let i = 0; i < 50; i++) {
    const junk = randomBytes(1400);
    const r = await a.raw(junk, 30);
    if (r) assert.ok(r.length <= junk.length, 'no amplification');
  }
  ctx.clock.advance(121_000);
  await expect('expired connection ID', announceWith(oldCid), /connection ID expired/);
  assert.is(ctx.tracker.repo.digest(), digest, 'invalid requests changed nothing');
  const ok = await a.announce({ infoHash: ih });
  assert.is(ok.action, 'announce', 'still serving');
});

test.run();
