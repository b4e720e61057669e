/** The real binary: flags, start-up, serving a real client, garbage, and SIGTERM emptying the repository. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freeUdpPort, run, type Proc } from '../helpers/process.js';
import { tempDir } from '../helpers/temp.js';
import { eventually } from '../helpers/cluster.js';
import { openClient, type TestClient } from '../helpers/udp-client.js';

type Ctx = { procs: Proc[]; clients: TestClient[]; dir: ReturnType<typeof tempDir> };
const test = suite<Ctx>('cli', { procs: [], clients: [], dir: tempDir('cli') });
test.after.each(async (ctx) => {
  for (const p of ctx.procs) p.kill('SIGKILL');
  for (const c of ctx.clients) await c.close();
  ctx.procs = [];
  ctx.clients = [];
});
test.after((ctx) => ctx.dir.remove());

const refusals: Array<[string[], RegExp]> = [
  [[], /--id is required/],
  [['--id', 'abc'], /--id must be an integer/],
  [['--id', '0'], /--id must be between 1/],
  [['--id', '3', '--port', '70000'], /--port must be between 1 and 65535/],
  [['--id', '3', '--host', 'nowhere'], /--host must be an IP address/],
  [['--id', '3', '--bogus'], /Unknown option '--bogus'/],
];
for (const [args, re] of refusals) {
  test(`refuses ${JSON.stringify(args)} with one clear line and a non-zero exit`, async (ctx) => {
    const p = run([...args, '--headless']);
    ctx.procs.push(p);
    assert.is(await p.exited(), 2);
    const lines = p.stderr().trim().split('\n');
    assert.is(lines.length, 1);
    assert.match(lines[0]!, re);
  });
}

test('--help prints the flags and exits 0', async (ctx) => {
  const p = run(['--help']);
  ctx.procs.push(p);
  assert.is(await p.exited(), 0);
  for (const flag of ['--id', '--host', '--port', '--db', '--interval', '--headless']) assert.ok(p.stdout().includes(flag), flag);
});

test('a port already in use is refused with a clear error', async (ctx) => {
  const squatter = dgram.createSocket('udp4');
  await new Promise<void>((r) => squatter.bind(0, '127.0.0.1', () => r()));
  const p = run([
    '--id',
    '4',
    '--host',
    '127.0.0.1',
    '--port',
    String(squatter.address().port),
    '--db',
    join(ctx.dir.path, 'busy.sqlite'),
    '--headless',
  ]);
  ctx.procs.push(p);
  assert.is(await p.exited(), 1);
  assert.match(p.stderr(), /cannot bind UDP 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  squatter.close();
});

test('serves a client, survives garbage, and SIGTERM exits 0 with an empty repository', async (ctx) => {
  const port = await freeUdpPort();
  const db = join(ctx.dir.path, 'five.sqlite');
  const p = run(['--id', '5', '--host', '127.0.0.1', '--port', String(port), '--db', db, '--headless']);
  ctx.procs.push(p);
  await p.waitFor(/listening on udp:\/\/127\.0\.0\.1:\d+/);
  const c = await openClient({ host: '127.0.0.1', port });
  ctx.clients.push(c);
  const ih = randomBytes(20);
  const r = await c.announce({ infoHash: ih, left: 0n });
  assert.equal(r.action === 'announce' && [r.seeders, r.leechers], [1, 0]);
  for (let i = 0; i < 200; i++) await c.raw(randomBytes(i * 7), 1);
  const s = await c.scrape([ih]);
  assert.equal(s.action === 'scrape' && s.entries, [{ seeders: 1, completed: 0, leechers: 0 }]);
  // The mirror is written by a worker thread just after the reply: poll for it.
  const stored = await eventually(
    () => {
      const live = new Database(db, { readonly: true });
      try {
        return live.prepare('SELECT count(*) AS n FROM peers').get();
      } finally {
        live.close();
      }
    },
    (v) => (v as { n: number }).n === 1,
    5000,
  );
  assert.equal(stored, { n: 1 });
  p.kill('SIGTERM');
  assert.is(await p.exited(), 0);
  assert.match(p.stderr(), /SIGTERM: shutting down/);
  const after = new Database(db, { readonly: true });
  assert.equal(after.prepare('SELECT (SELECT count(*) FROM peers) AS peers, (SELECT count(*) FROM torrents) AS torrents').get(), {
    peers: 0,
    torrents: 0,
  });
  after.close();
});

test.run();
