/**
 * Three (and four) real tracker processes on a real ActiveMQ: one reply per request through the group and the
 * service address, identical repositories, failover under load without losing an acknowledged announce,
 * state transfer to a late joiner, a duplicate ID refused, and recovery from a broker killed and restarted.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { encodeConnectRequest } from '../../src/protocol/encode.js';
import {
  ackedBeyond,
  brokerUrl,
  eventually,
  holdsAll,
  newTopic,
  ownBroker,
  peerIdsIn,
  settled,
  sqliteDigest,
  startNode,
  type Node,
  SERVING,
  startThree,
  killAll,
} from '../helpers/cluster.js';
import { freeUdpPort } from '../helpers/process.js';
import { answered, listener, onceEach, type Listener } from '../helpers/replies.js';
import { tempDir } from '../helpers/temp.js';
import { announceRequest, openClient, type TestClient } from '../helpers/udp-client.js';

const GROUP = '239.192.0.1';
type Ctx = { nodes: Node[]; clients: TestClient[]; dir: ReturnType<typeof tempDir>; cleanups: Array<() => Promise<unknown>> };
const test = suite<Ctx>('cluster', { nodes: [], clients: [], dir: tempDir('cluster'), cleanups: [] });

test.after.each(async (ctx) => {
  for (const c of ctx.clients) await c.close();
  await killAll(ctx.nodes);
  for (const f of ctx.cleanups) await f();
  ctx.nodes = [];
  ctx.clients = [];
  ctx.cleanups = [];
});
test.after((ctx) => ctx.dir.remove());

async function threeNodes(ctx: Ctx, opts: { heartbeatMs?: number; broker?: string } = {}) {
  const port = await freeUdpPort();
  const o = { brokerUrl: opts.broker ?? brokerUrl(), port, dir: ctx.dir.path, topic: newTopic(), heartbeatMs: opts.heartbeatMs ?? 250 };
  ctx.nodes.push(...(await startThree(o)));
  await ctx.nodes[2]!.proc.waitFor(/role master \(epoch \d+/);
  await ctx.nodes[2]!.proc.waitFor(SERVING);
  await Promise.all(ctx.nodes.slice(0, 2).map((n) => n.proc.waitFor(/role slave/)));
  return o;
}

const client = async (ctx: Ctx, host: string, port: number, timeoutMs = 1500): Promise<TestClient> => {
  const c = await openClient({ host, port }, '127.0.0.1', timeoutMs);
  ctx.clients.push(c);
  return c;
};

/** Announce until a success reply comes (clients retry; a failover drops requests), recording what was acknowledged. */
async function announceUntilAcked(c: TestClient, infoHash: Buffer, peerId: Buffer, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    try {
      const r = await c.announce({ infoHash, peerId, left: 1n + BigInt(peerId[0]!) });
      if (r.action === 'announce') return true;
    } catch {
      // No reply (an election is under way): retry, as BEP 15 clients do, but never in a tight loop.
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return false;
}

/** Any second reply to a request would arrive within this window after the first (a deliberate wait for duplicates). */
const DUPLICATE_WINDOW_MS = 600;

/**
 * Send `reqs` (transaction ID → datagram) to `target`, wait until each has a reply, then for late duplicates;
 * returns what is wrong: each must be answered exactly once, with `action`, from the service address.
 */
async function exactlyOnce(
  l: Listener,
  reqs: ReadonlyMap<number, Buffer>,
  target: string,
  port: number,
  action: string,
): Promise<string[]> {
  const tids = [...reqs.keys()];
  const before = l.heard.length;
  for (const [, b] of reqs) l.send(b, port, target);
  await eventually(
    () => answered(tids, l.heard.slice(before)),
    (n) => n === tids.length,
    10_000,
  );
  await new Promise((r) => setTimeout(r, DUPLICATE_WINDOW_MS));
  return onceEach(tids, l.heard.slice(before), `127.0.0.1:${port}`, action);
}

test('one reply per request, through the group and through the service address, always from the service address', async (ctx) => {
  const { port } = await threeNodes(ctx);
  const l = await listener();
  try {
    for (const [k, target] of [GROUP, '127.0.0.1'].entries()) {
      const connects = new Map(Array.from({ length: 20 }, (_, i) => [100 * (k + 1) + i, encodeConnectRequest(100 * (k + 1) + i)] as const));
      assert.equal(await exactlyOnce(l, connects, target, port, 'connect'), [], `connects to ${target}`);
    }
    // Announces, under one connection ID (bound to this socket's address), each with its own transaction ID.
    const cid = l.heard.find((h) => h.reply.action === 'connect')?.reply;
    if (cid?.action !== 'connect') throw new Error('no connect reply to take a connection ID from');
    const infoHash = randomBytes(20);
    const announce = (tid: number): Buffer =>
      announceRequest({ connectionId: cid.connectionId, transactionId: tid, infoHash, port: l.socket.address().port });
    for (const [k, target] of [GROUP, '127.0.0.1'].entries()) {
      const announces = new Map(Array.from({ length: 20 }, (_, i) => [1000 * (k + 1) + i, announce(1000 * (k + 1) + i)] as const));
      assert.equal(await exactlyOnce(l, announces, target, port, 'announce'), [], `announces to ${target}`);
    }
  } finally {
    await l.close();
  }
});

test('after a burst of announces every instance holds the same repository, in SQLite', async (ctx) => {
  const { port } = await threeNodes(ctx);
  const hashes = Array.from({ length: 5 }, () => randomBytes(20));
  const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => client(ctx, i % 2 ? GROUP : '127.0.0.1', port)));
  let acked = 0;
  await Promise.all(
    clients.map(async (c, i) => {
      const cid = await c.connect();
      for (let k = 0; k < 15; k++) {
        const r = await c.announce({ infoHash: hashes[(i + k) % 5]!, peerId: randomBytes(20), left: BigInt(k % 3) }, cid);
        if (r.action === 'announce') acked++;
      }
    }),
  );
  assert.is(acked, 300);
  const ds = await settled(ctx.nodes, (db) => sqliteDigest(db).peers === 300);
  assert.ok(
    ds.every((d) => d === ds[0]),
    'identical digests',
  );
  assert.is(sqliteDigest(ctx.nodes[0]!.db).peers, 300);
});

test('SIGKILL of the Master under load: a new Master answers within 3 s, no acknowledged announce is lost', async (ctx) => {
  const { port } = await threeNodes(ctx, { heartbeatMs: 1000 });
  const ih = randomBytes(20);
  const acked: string[] = [];
  let stop = false;
  // Clients retry fast (250 ms) so the measured failover is the cluster's, not a client's back-off.
  const clients = await Promise.all(Array.from({ length: 8 }, () => client(ctx, '127.0.0.1', port, 250)));
  const load = Promise.all(
    clients.map(async (c) => {
      while (!stop) {
        const pid = randomBytes(20);
        if (await announceUntilAcked(c, ih, pid, Date.now() + 15_000)) acked.push(pid.toString('hex'));
      }
    }),
  );
  // The load is being served before the kill (rather than a fixed time of it).
  await ackedBeyond(acked, 0, 10, 'before the kill');
  const before = acked.length;
  const master = ctx.nodes[2]!;
  master.proc.kill('SIGKILL');
  const killedAt = Date.now();
  const probe = await client(ctx, '127.0.0.1', port, 250);
  await announceUntilAcked(probe, ih, randomBytes(20), Date.now() + 10_000);
  const failoverMs = Date.now() - killedAt;
  assert.match(ctx.nodes[1]!.proc.stderr(), /role master \(epoch 2/, 'the highest live ID took over');
  // The load's own clients are served by the new Master too (rather than a fixed time of load after the failover).
  await ackedBeyond(acked, acked.length, 8, 'after the failover');
  stop = true;
  await load;
  process.stdout.write(
    `  failover: first reply from the new Master ${failoverMs} ms after SIGKILL; ${acked.length} announces acknowledged (${before} before the kill)\n`,
  );
  assert.ok(failoverMs < 3000, `failover took ${failoverMs} ms`);
  assert.ok(acked.length > before, 'announces were acknowledged after the failover');
  const survivors = ctx.nodes.slice(0, 2);
  await settled(survivors, holdsAll(acked));
  for (const n of survivors) {
    const have = peerIdsIn(n.db);
    const lost = acked.filter((p) => !have.has(p));
    assert.equal(lost, [], `instance ${n.id} lost acknowledged announces`);
  }
});

test('a fourth instance joining mid-way gets the whole repository and stays identical', async (ctx) => {
  const o = await threeNodes(ctx);
  const c = await client(ctx, '127.0.0.1', o.port);
  const cid = await c.connect();
  for (let k = 0; k < 100; k++) await c.announce({ infoHash: randomBytes(20), peerId: randomBytes(20), left: 0n }, cid);
  const late = startNode(4, o);
  ctx.nodes.push(late);
  await late.proc.waitFor(/state transfer complete: \d+ records/);
  await late.proc.waitFor(/role slave/);
  for (let k = 0; k < 50; k++) await c.announce({ infoHash: randomBytes(20), peerId: randomBytes(20) }, cid);
  const ds = await settled(ctx.nodes, (db) => sqliteDigest(db).peers === 150);
  assert.ok(ds.every((d) => d === ds[0]));
  assert.is(sqliteDigest(late.db).peers, 150);
  assert.match(ctx.nodes[2]!.proc.stderr(), /role master/, 'the running Master was not deposed');
  assert.not.match(late.proc.stderr(), /role master/);
});

test('a second instance with a live ID is refused with a clear error', async (ctx) => {
  const o = await threeNodes(ctx);
  const dup = startNode(2, o);
  ctx.nodes.push(dup);
  assert.is(await dup.proc.exited(), 3);
  assert.match(dup.proc.stderr(), /ID 2 is already used by a live instance/);
  assert.not.match(ctx.nodes[1]!.proc.stderr(), /shutting down/);
});

test('broker killed and restarted: the cluster stops answering, then recovers with identical, uncorrupted state', async (ctx) => {
  const dir = tempDir('broker');
  const b = ownBroker(dir.path);
  ctx.cleanups.push(async () => {
    await b.stop();
    dir.remove();
  });
  const url = await b.start();
  const o = await threeNodes(ctx, { broker: url });
  const c = await client(ctx, '127.0.0.1', o.port);
  const acked: string[] = [];
  for (let k = 0; k < 60; k++) {
    const pid = randomBytes(20);
    if ((await c.announce({ infoHash: randomBytes(20), peerId: pid })).action === 'announce') acked.push(pid.toString('hex'));
  }
  b.kill9();
  await Promise.all(ctx.nodes.map((n) => n.proc.waitFor(/broker connection lost: suspended/, 10_000)));
  assert.is(await c.raw(encodeConnectRequest(1), 800), null, 'no answers while cut off from the broker');
  await b.start();
  await eventually(
    () => ctx.nodes.map((n) => /role master/.test(n.proc.stderr().split('broker connection back')[1] ?? '')),
    (v) => v.some(Boolean),
    20_000,
  );
  for (let k = 0; k < 40; k++) {
    const pid = randomBytes(20);
    if (await announceUntilAcked(c, randomBytes(20), pid, Date.now() + 10_000)) acked.push(pid.toString('hex'));
  }
  assert.is(acked.length, 100);
  const ds = await settled(ctx.nodes, holdsAll(acked));
  assert.ok(
    ds.every((d) => d === ds[0]),
    'identical digests after recovery',
  );
  for (const n of ctx.nodes)
    assert.equal(
      acked.filter((p) => !peerIdsIn(n.db).has(p)),
      [],
      `instance ${n.id}`,
    );
});

test.run();
