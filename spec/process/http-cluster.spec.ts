/**
 * The HTTP tracker in a 3-node cluster of real processes on a real ActiveMQ: only the Master serves it, HTTP
 * and UDP announces land in the same swarm through the same consensus, every instance's /metrics shows live
 * figures, and the HTTP address moves to the new Master after a SIGKILL.
 */
import * as assert from 'uvu/assert';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { decodeBencode, type BDict } from '../../src/torrent/bencode.js';
import {
  brokerUrl,
  eventually,
  newTopic,
  sqliteDigest,
  type Node,
  SERVING,
  startThree,
  clusterSuite,
  type ClusterCtx,
} from '../helpers/cluster.js';
import { freeTcpPort, freeUdpPort } from '../helpers/process.js';
import { openClient } from '../helpers/udp-client.js';

type Ctx = ClusterCtx;
const test = clusterSuite('http cluster', 'http-cluster');

type Res = { status: number; body: Buffer } | { error: string };
const get = (port: number, path: string): Promise<Res> =>
  new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 3000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.message }));
  });
const dict = (r: Res): BDict => {
  if ('error' in r) throw new Error(r.error);
  const d = decodeBencode(r.body);
  if (!d.ok) throw new Error(`${d.error}: ${r.body.toString('latin1')}`);
  return d.value as BDict;
};
const enc = (b: Buffer): string => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('');
const announcePath = (ih: Buffer, pid: Buffer, port: number, left: number): string =>
  `/announce?info_hash=${enc(ih)}&peer_id=${enc(pid)}&port=${port}&uploaded=0&downloaded=0&left=${left}&compact=1&event=started`;
/** Compact IPv4 peers as "ip:port". */
const endpoints = (b: Buffer): string[] =>
  Array.from({ length: b.length / 6 }, (_, i) => `${b.subarray(i * 6, i * 6 + 4).join('.')}:${b.readUInt16BE(i * 6 + 4)}`);
const metricsPortOf = (n: Node): number => Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(n.proc.stderr())?.[1]);
const sample = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `) || (l.startsWith(`${series}{`) && l.includes(series)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
};

async function cluster(ctx: Ctx) {
  const port = await freeUdpPort();
  const httpPort = await freeTcpPort();
  const o = { brokerUrl: brokerUrl(), port, dir: ctx.dir.path, topic: newTopic(), heartbeatMs: 250 };
  ctx.nodes.push(...(await startThree(o, ['--http-port', String(httpPort), '--metrics-port', '0'])));
  await ctx.nodes[2]!.proc.waitFor(/role master/);
  await ctx.nodes[2]!.proc.waitFor(SERVING);
  await ctx.nodes[2]!.proc.waitFor(/HTTP tracker on http:\/\/127\.0\.0\.1:\d+\/announce/);
  await Promise.all(ctx.nodes.slice(0, 2).map((n) => n.proc.waitFor(/role slave/)));
  await Promise.all(ctx.nodes.map((n) => n.proc.waitFor(/metrics on http/)));
  return { port, httpPort };
}

test('HTTP and UDP announces share one swarm through the Master; Slaves hold no HTTP port; /metrics is live', async (ctx) => {
  const { port, httpPort } = await cluster(ctx);
  assert.not.match(ctx.nodes[0]!.proc.stderr() + ctx.nodes[1]!.proc.stderr(), /HTTP tracker on/, 'only the Master serves HTTP');
  const ih = randomBytes(20);

  // A seeder over HTTP, a leecher over UDP: each sees the other.
  const seeder = dict(await get(httpPort, announcePath(ih, randomBytes(20), 6881, 0)));
  assert.is(seeder.get('failure reason'), undefined);
  assert.is(endpoints(seeder.get('peers') as Buffer).length, 0);
  const udp = await openClient({ host: '127.0.0.1', port });
  ctx.clients.push(udp);
  const r = await udp.announce({ infoHash: ih, peerId: randomBytes(20), left: 100n, event: 2 });
  assert.is(r.action, 'announce');
  if (r.action !== 'announce') return;
  assert.is(r.seeders, 1);
  assert.equal(endpoints(r.peers), ['127.0.0.1:6881'], 'the UDP leecher gets the HTTP seeder');
  const again = dict(await get(httpPort, announcePath(ih, randomBytes(20), 6882, 0)));
  assert.ok(endpoints(again.get('peers') as Buffer).includes(`127.0.0.1:${udp.port}`), 'the HTTP peer gets the UDP leecher');
  const scrape = dict(await get(httpPort, `/scrape?info_hash=${enc(ih)}`));
  const files = scrape.get('files') as BDict;
  const entry = files.get(ih.toString('latin1')) as BDict;
  assert.is(entry.get('complete'), 2n);
  assert.is(entry.get('incomplete'), 1n);

  // Every instance committed the HTTP changes.
  const ds = await eventually(
    () => ctx.nodes.map((n) => sqliteDigest(n.db)),
    (v) => v.every((d) => d.digest === v[0]!.digest && d.peers === 3),
  );
  assert.ok(
    ds.every((d) => d.digest === ds[0]!.digest && d.peers === 3),
    'identical repositories holding all three peers',
  );

  // Bad queries get a bencoded failure reason, not a crash.
  const bad = dict(await get(httpPort, '/announce?info_hash=short&peer_id=x&port=1'));
  assert.type(bad.get('failure reason'), 'object');

  const text = async (n: Node): Promise<string> => {
    const r = await get(metricsPortOf(n), '/metrics');
    return 'error' in r ? r.error : r.body.toString();
  };
  // Liveness is a moving figure: a keepalive delayed past 2 intervals on a loaded machine drops an instance
  // for a moment. Scrape until the Master counts all three, as an operator's next scrape would.
  const mt = await eventually(
    () => text(ctx.nodes[2]!),
    (t) => sample(t, 'tracker_live_instances{tracker_id="3"}') === 3,
    5000,
  );
  const st = await text(ctx.nodes[0]!);
  assert.is(sample(mt, 'tracker_requests_total{protocol="http",action="announce",tracker_id="3"}'), 3);
  assert.is(sample(mt, 'tracker_request_errors_total{protocol="http",action="announce",tracker_id="3"}'), 1);
  assert.ok(sample(mt, 'tracker_requests_total{protocol="udp",action="announce",tracker_id="3"}') >= 1);
  assert.ok(sample(mt, 'tracker_consensus_rounds_total{outcome="committed",tracker_id="3"}') >= 2, 'rounds led by the Master');
  assert.is(sample(mt, 'tracker_live_instances{tracker_id="3"}'), 3);
  assert.is(sample(mt, 'tracker_peers{tracker_id="3"}'), 3);
  assert.is(sample(st, 'tracker_peers{tracker_id="1"}'), 3, "a Slave's read model has the peers too");
  assert.ok(sample(st, 'tracker_epoch{tracker_id="1"}') >= 1, 'the epoch the Slave follows');
});

test('SIGKILL of the Master: the new Master takes the HTTP address and still knows the swarm', async (ctx) => {
  const { httpPort } = await cluster(ctx);
  const ih = randomBytes(20);
  dict(await get(httpPort, announcePath(ih, randomBytes(20), 7001, 0)));
  ctx.nodes[2]!.proc.kill('SIGKILL');
  await ctx.nodes[1]!.proc.waitFor(/HTTP tracker on http/, 10_000);
  const after = await eventually(
    () => get(httpPort, announcePath(ih, randomBytes(20), 7002, 5)),
    (r) => !('error' in r),
    5000,
  );
  const d = dict(after);
  assert.is(d.get('failure reason'), undefined);
  assert.equal(endpoints(d.get('peers') as Buffer), ['127.0.0.1:7001'], 'the peer announced before the failover');
  assert.not.match(ctx.nodes[0]!.proc.stderr(), /HTTP tracker on/);
});

test.run();
