/** scripts/replay.ts against a real tracker process on loopback, with both checked-in traces. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeUdpPort, run, type Proc } from '../helpers/process.js';
import { tempDir } from '../helpers/temp.js';
import { makeSyntheticTrace } from '../../scripts/make-trace.js';
import { readPcap } from '../../src/trace/pcap.js';
import { readFileSync } from 'node:fs';
import { ipPacket, writePcap } from '../helpers/pcap-writer.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../../../spec/fixtures/${name}`, import.meta.url));
const SYNTHETIC = fixture('synthetic-swarm.pcap');
const LIBTORRENT = fixture('libtorrent-session.pcap');

type Ctx = { dir: ReturnType<typeof tempDir>; trackers: Proc[] };
const test = suite<Ctx>('replay', {} as Ctx);
test.before.each((ctx) => {
  ctx.dir = tempDir('replay');
  ctx.trackers = [];
});
test.after.each(async (ctx) => {
  for (const t of ctx.trackers) {
    t.kill();
    await t.exited();
  }
  ctx.dir.remove();
});

/** A fresh tracker (empty swarms): the recorded counts start from nothing too. */
async function tracker(ctx: Ctx, ...extra: string[]): Promise<number> {
  const port = await freeUdpPort();
  const t = run([
    '--id',
    '9',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--headless',
    '--db',
    join(ctx.dir.path, `t${ctx.trackers.length}.sqlite`),
    ...extra,
  ]);
  ctx.trackers.push(t);
  await t.waitFor(/listening on udp:\/\//);
  return port;
}

type Outcome = { code: number | null; out: string; err: string };
function replay(args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/scripts/replay.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}
const summary = (o: Outcome): Record<string, unknown> => JSON.parse(o.out.trim().split('\n').at(-1)!) as Record<string, unknown>;

test('the synthetic swarm replays with --check at full speed: every reply matches', async (ctx) => {
  const port = await tracker(ctx);
  const made = makeSyntheticTrace();
  const o = await replay([SYNTHETIC, '--target', `udp://127.0.0.1:${port}`, '--check', '--speed', '0', '--json']);
  assert.is(o.code, 0, o.out + o.err);
  const s = summary(o);
  assert.equal(
    [s.clients, s.requests, s.sent, s.replies, s.timeouts, s.extraReplies, s.matches, s.mismatches, s.notDetermined, s.ownConnects],
    [20, made.requests, made.requests, made.replies, 0, 0, made.requests, [], 0, 0],
  );
});

test('the libtorrent recording replays with --check, at full speed and at 20× its recorded pace', async (ctx) => {
  for (const speed of ['0', '20']) {
    const port = await tracker(ctx);
    const o = await replay([LIBTORRENT, '--target', `udp://127.0.0.1:${port}`, '--check', '--speed', speed, '--json']);
    assert.is(o.code, 0, o.out + o.err);
    const s = summary(o);
    assert.equal(
      [s.clients, s.requests, s.replies, s.timeouts, s.matches, s.mismatches, s.notDetermined],
      [2, 9, 9, 0, 9, [], 0],
      `speed ${speed}`,
    );
  }
});

test('a trace that starts after the connects: the replayer connects for each client on its own', async (ctx) => {
  const read = readPcap(readFileSync(SYNTHETIC));
  if (!read.ok) throw new Error(read.error);
  // Drop every connect request and reply (action 0 at offset 8 of a request, at offset 0 of a reply).
  const kept = read.packets.filter(
    (p) => !(p.payload.length >= 16 && (p.dst.port === 6969 ? p.payload.readUInt32BE(8) : p.payload.readUInt32BE(0)) === 0),
  );
  const file = join(ctx.dir.path, 'no-connects.pcap');
  writeFileSync(
    file,
    writePcap(
      { le: false, nano: true, link: 101 },
      kept.map((p) => ({ t: p.t, data: ipPacket(p.src, p.dst, p.payload) })),
    ),
  );
  const port = await tracker(ctx);
  const o = await replay([file, '--target', `udp://127.0.0.1:${port}`, '--check', '--speed', '0', '--json']);
  assert.is(o.code, 0, o.out + o.err);
  const s = summary(o);
  const requests = kept.filter((p) => p.dst.port === 6969).length;
  // One handshake per client: the replay takes far less than the minute an ID is used for.
  assert.equal([s.requests, s.ownConnects, s.matches, s.mismatches, s.timeouts], [requests, 20, requests, [], 0]);
});

test('the text summary names what was sent, answered and compared', async (ctx) => {
  const port = await tracker(ctx);
  const o = await replay([LIBTORRENT, '--target', `udp://127.0.0.1:${port}`, '--check', '--speed', '0']);
  assert.is(o.code, 0, o.err);
  assert.match(o.out, /requests 9 \(2 connect, 6 announce, 1 scrape, 0 other\)/);
  assert.match(o.out, /replies 9, timeouts 0/);
  assert.match(o.out, /check: 9 matches, 0 mismatches/);
});

test('--check fails on a tracker that answers differently (another interval, swarms not empty)', async (ctx) => {
  const port = await tracker(ctx, '--interval', '900');
  const o = await replay([SYNTHETIC, '--target', `udp://127.0.0.1:${port}`, '--check', '--speed', '0']);
  assert.is(o.code, 1);
  assert.match(o.out, /mismatch #\d+ announce from 127\.0\.0\.11:40000 tid \d+: interval 900 ≠ 1800/);
  const again = await replay([LIBTORRENT, '--target', `udp://127.0.0.1:${await tracker(ctx)}`, '--speed', '0']);
  assert.is(again.code, 0, 'without --check nothing is compared');
});

test('a second replay into the same tracker finds the swarms already populated', async (ctx) => {
  const port = await tracker(ctx);
  assert.is((await replay([LIBTORRENT, '--target', `udp://127.0.0.1:${port}`, '--check', '--speed', '0'])).code, 0);
  const o = await replay([LIBTORRENT, '--target', `udp://127.0.0.1:${port}`, '--check', '--speed', '0', '--json']);
  assert.is(o.code, 1);
  assert.ok(
    (summary(o).mismatches as string[]).some((m) => /scrape/.test(m)),
    o.out,
  );
});

test('bad usage exits 2; an unreadable trace exits 1 with the reason', async (ctx) => {
  assert.is((await replay([SYNTHETIC])).code, 2);
  assert.is((await replay([SYNTHETIC, '--target', 'udp://127.0.0.1:1', '--speed', '-1'])).code, 2);
  const junk = join(ctx.dir.path, 'junk.pcap');
  writeFileSync(junk, 'definitely not a capture');
  const o = await replay([junk, '--target', 'udp://127.0.0.1:1']);
  assert.is(o.code, 1);
  assert.match(o.err, /not a pcap or pcapng file/);
});

test.run();
