/** Operator policy on the real binary: deny and allow lists reloaded on SIGHUP, rate limit, the ip field. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCompactPeers } from '../../src/protocol/compact.js';
import { encodeConnectRequest } from '../../src/protocol/encode.js';
import { freeUdpPort, run, type Proc } from '../helpers/process.js';
import { tempDir } from '../helpers/temp.js';
import { openClient, type TestClient } from '../helpers/udp-client.js';

type Ctx = { procs: Proc[]; clients: TestClient[]; dir: ReturnType<typeof tempDir> };
const test = suite<Ctx>('policy', { procs: [], clients: [], dir: tempDir('policy') });
test.after.each(async (ctx) => {
  for (const p of ctx.procs) p.kill('SIGKILL');
  for (const c of ctx.clients) await c.close();
  ctx.procs = [];
  ctx.clients = [];
});
test.after((ctx) => ctx.dir.remove());

async function tracker(ctx: Ctx, extra: string[]): Promise<number> {
  const port = await freeUdpPort();
  const p = run([
    '--id',
    '1',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--db',
    join(ctx.dir.path, `${port}.sqlite`),
    '--headless',
    ...extra,
  ]);
  ctx.procs.push(p);
  await p.waitFor(/listening on/);
  return port;
}
const client = async (ctx: Ctx, port: number): Promise<TestClient> => {
  const c = await openClient({ host: '127.0.0.1', port });
  ctx.clients.push(c);
  return c;
};

test('deny list refuses its hashes with an error reply; SIGHUP reloads it without a restart', async (ctx) => {
  const [a, b] = [randomBytes(20), randomBytes(20)];
  const deny = join(ctx.dir.path, 'deny.txt');
  writeFileSync(deny, `${a.toString('hex')}\n`);
  const port = await tracker(ctx, ['--deny-list', deny]);
  const c = await client(ctx, port);
  const ra = await c.announce({ infoHash: a });
  assert.equal(ra.action === 'error' && ra.message, 'torrent not allowed on this tracker');
  assert.is((await c.announce({ infoHash: b })).action, 'announce');
  writeFileSync(deny, `${a.toString('hex')}\n${b.toString('hex')}\n`);
  ctx.procs[0]!.kill('SIGHUP');
  await ctx.procs[0]!.waitFor(/SIGHUP: info-hash lists reloaded \(allow all, deny 2\)/);
  assert.is((await c.announce({ infoHash: b })).action, 'error');
  assert.is((await c.scrape([b])).action, 'error');
  writeFileSync(deny, 'garbage\n');
  ctx.procs[0]!.kill('SIGHUP');
  await ctx.procs[0]!.waitFor(/lists not reloaded: .*line 1/);
  assert.is((await c.announce({ infoHash: b })).action, 'error', 'a bad file keeps the previous list');
});

test('allow list: only listed hashes are served; a bad list refuses to start', async (ctx) => {
  const a = randomBytes(20);
  const allow = join(ctx.dir.path, 'allow.txt');
  writeFileSync(allow, `# only this one\n${a.toString('hex')}\n`);
  const port = await tracker(ctx, ['--allow-list', allow]);
  const c = await client(ctx, port);
  assert.is((await c.announce({ infoHash: a })).action, 'announce');
  assert.is((await c.announce({ infoHash: randomBytes(20) })).action, 'error');
  const badFile = join(ctx.dir.path, 'bad.txt');
  writeFileSync(badFile, 'zz\n');
  const p = run(['--id', '2', '--headless', '--allow-list', badFile]);
  assert.is(await p.exited(), 2);
  assert.match(p.stderr(), /bad\.txt: line 1: not a 40-hex-digit info hash/);
});

test('rate limit: a burst of 40 requests from one address gets at most twice the rate in replies', async (ctx) => {
  const port = await tracker(ctx, ['--rate-limit', '5']);
  const c = await client(ctx, port);
  const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => c.raw(encodeConnectRequest(i), 400)));
  const got = replies.filter((r) => r !== null).length;
  assert.ok(got >= 9 && got <= 11, `${got} replies`);
});

test('the announce ip field is ignored by default and honoured with --trust-ip-field', async (ctx) => {
  for (const trust of [false, true]) {
    const port = await tracker(ctx, trust ? ['--trust-ip-field'] : []);
    const [c1, c2] = [await client(ctx, port), await client(ctx, port)];
    const ih = randomBytes(20);
    await c1.announce({ infoHash: ih, ip: 0x0a000063 }); // claims 10.0.0.99
    const r = await c2.announce({ infoHash: ih });
    assert.ok(r.action === 'announce');
    if (r.action !== 'announce') return;
    const seen = decodeCompactPeers(r.peers, 4).map((p) => p.ip.join('.'));
    assert.equal(seen, [trust ? '10.0.0.99' : '127.0.0.1'], `trust=${trust}`);
  }
});

test.run();
