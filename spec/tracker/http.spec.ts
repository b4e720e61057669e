/** The single-instance tracker over HTTP (and its metrics): real sockets on loopback, real SQLite, commits. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { asyncScheduler } from 'rxjs';
import { startTracker, type Tracker } from '../../src/node/tracker.js';
import { resolveConfig } from '../../src/config/index.js';
import { decodeBencode, type BDict, type BValue } from '../../src/torrent/bencode.js';
import { tempDir } from '../helpers/temp.js';
import { openClient } from '../helpers/udp-client.js';

type Ctx = { tracker: Tracker; dir: ReturnType<typeof tempDir> };
const test = suite<Ctx>('http tracker', {} as Ctx);

test.before.each(async (ctx) => {
  ctx.dir = tempDir('tracker-http');
  const r = await startTracker(
    resolveConfig({
      id: 1,
      network: { host: '127.0.0.1', port: 0 },
      storage: { db: join(ctx.dir.path, 't.sqlite') },
      policy: { intervalS: 60, peerTtlS: 120 },
      cluster: { batchMs: 1 },
      http: { port: 0, metricsPort: 0 },
    }),
    { scheduler: asyncScheduler, clock: asyncScheduler, key: randomBytes(32), log: () => {} },
  );
  if (!r.ok) throw new Error(r.error);
  ctx.tracker = r.tracker;
});
test.after.each(async (ctx) => {
  await ctx.tracker.stop();
  ctx.dir.remove();
});

const get = (port: number, path: string): Promise<{ status: number; body: Buffer }> =>
  new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: new http.Agent({ keepAlive: false }) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
const dict = (b: Buffer): BDict => {
  const r = decodeBencode(b);
  if (!r.ok) throw new Error(`${r.error}: ${b.toString('latin1')}`);
  return r.value as BDict;
};
const enc = (b: Buffer): string => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('');
const HASH = Buffer.from(Array.from({ length: 20 }, (_, i) => 255 - i));
const announce = (peer: number, extra = ''): string =>
  `/announce?info_hash=${enc(HASH)}&peer_id=${enc(Buffer.alloc(20, peer))}&port=${7000 + peer}&uploaded=0&downloaded=0&left=${peer === 1 ? 0 : 10}${extra}`;

test('announces commit and see each other; scrape; stopped; the UDP side sees HTTP peers', async (ctx) => {
  const port = ctx.tracker.httpPort()!;
  assert.ok(port > 0);
  const a = dict((await get(port, announce(1, '&event=started'))).body);
  assert.is(a.get('complete'), 1n);
  assert.is((a.get('peers') as Buffer).length, 0);
  const b = dict((await get(port, announce(2, '&event=started&compact=0'))).body);
  assert.is(b.get('complete'), 1n);
  assert.is(b.get('incomplete'), 1n);
  const peers = b.get('peers') as BValue[];
  assert.is(peers.length, 1);
  assert.is((peers[0] as BDict).get('port'), 7001n);
  assert.ok(((peers[0] as BDict).get('peer id') as Buffer).equals(Buffer.alloc(20, 1)));
  const s = dict((await get(port, `/scrape?info_hash=${enc(HASH)}`)).body);
  const f = (s.get('files') as BDict).get(HASH.toString('latin1')) as BDict;
  assert.equal([f.get('complete'), f.get('incomplete')], [1n, 1n]);

  // a UDP client in the same swarm gets both HTTP peers
  const c = await openClient({ host: '127.0.0.1', port: ctx.tracker.port });
  const u = (await c.announce({ infoHash: HASH, peerId: Buffer.alloc(20, 9), left: 5n, event: 2, port: 7009 })) as unknown as {
    seeders: number;
    leechers: number;
  };
  assert.is(u.seeders, 1);
  assert.is(u.leechers, 2);
  await c.close();

  await get(port, announce(2, '&event=stopped'));
  const after = dict((await get(port, announce(1))).body);
  assert.is(after.get('incomplete'), 1n); // the UDP peer is left
  assert.is((await ctx.tracker.sqlite.counts()).peers >= 0, true);
});

test('bad queries are failures; /metrics on both listeners counts the traffic', async (ctx) => {
  const port = ctx.tracker.httpPort()!;
  const bad = dict((await get(port, '/announce?info_hash=short')).body);
  assert.ok(
    (bad.get('failure reason') as Buffer).toString().includes('missing') ||
      (bad.get('failure reason') as Buffer).toString().includes('20 bytes'),
  );
  await get(port, announce(3));
  for (const p of [port, ctx.tracker.metricsPort!]) {
    const m = await get(p, '/metrics');
    assert.is(m.status, 200);
    const t = m.body.toString();
    assert.ok(
      t.includes('tracker_requests_total{protocol="http",action="announce",tracker_id="1"} 2'),
      t
        .split('\n')
        .filter((l) => l.includes('requests_total'))
        .join('\n'),
    );
    assert.ok(t.includes('tracker_request_errors_total{protocol="http",action="announce",tracker_id="1"} 1'));
    assert.ok(/tracker_consensus_rounds_total\{outcome="committed",tracker_id="1"\} [1-9]/.test(t));
    assert.ok(t.includes('tracker_peers{tracker_id="1"} 1'));
    assert.ok(t.includes('tracker_swarms{tracker_id="1"} 1'));
    assert.ok(/tracker_batch_size_count\{tracker_id="1"\} [1-9]/.test(t));
    assert.ok(/tracker_commit_latency_seconds_count\{tracker_id="1"\} [1-9]/.test(t));
    // the process series operators expect next to the tracker's own
    assert.ok(/process_resident_memory_bytes\{tracker_id="1"\} [1-9]/.test(t));
    assert.ok(/nodejs_heap_size_used_bytes\{tracker_id="1"\} [1-9]/.test(t));
  }
  // the metrics-only listener serves no tracker
  assert.is((await get(ctx.tracker.metricsPort!, announce(4))).status, 404);
});

test.run();
