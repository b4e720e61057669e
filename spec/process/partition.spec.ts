/**
 * A network partition on namespaces of the test's own: a hub namespace holds a bridge and the broker, each of
 * three trackers has a namespace of its own joined to the bridge by a veth pair (10.77.x.0/24, nothing else is
 * reachable). Peers announce to the multicast group from the hub. Cutting the links of both Slaves leaves the
 * Master with the broker but alone: a minority of a cluster built for three (--cluster-size 3),
 * which must not commit anything. With one link back the cluster commits again; the other Slave, back after those
 * rounds with no round following, catches up too: every repository is identical and holds every acknowledged announce.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { eventually, holdsAll, killAll, logsOnFailure, peerIdsIn, settled, sqliteDigest, type Node } from '../helpers/cluster.js';
import { run } from '../helpers/process.js';
import { tempDir } from '../helpers/temp.js';

const GROUP = '239.192.0.1';
const PORT = 6969;
const BROKER_PORT = 61613;
const tag = randomBytes(2).toString('hex');
// A subnet of its own per run, so a leftover of a crashed run cannot collide.
const net = `10.77.${(randomBytes(1)[0]! % 200) + 20}`;
const hub = `tph-${tag}`;
const ns = (i: number): string => `tp${i}-${tag}`;
const addr = (i: number): string => `${net}.${10 + i}`;
const HUB_ADDR = `${net}.1`;

type Ctx = { nodes: Node[]; dir: ReturnType<typeof tempDir>; made: string[] };
const test = suite<Ctx>('partition', { nodes: [], dir: tempDir('partition'), made: [] });

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};
const broker = (cmd: string[], env: NodeJS.ProcessEnv = {}): string =>
  execFileSync('ip', ['netns', 'exec', hub, 'bash', 'scripts/broker.sh', ...cmd], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });

function makeNetwork(ctx: Ctx): void {
  ip('netns', 'add', hub);
  ctx.made.push(hub);
  ip('-n', hub, 'link', 'set', 'lo', 'up');
  ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
  ip('-n', hub, 'addr', 'add', `${HUB_ADDR}/24`, 'dev', 'br0');
  ip('-n', hub, 'link', 'set', 'br0', 'up');
  ip('-n', hub, 'route', 'add', '224.0.0.0/4', 'dev', 'br0');
  for (const i of [1, 2, 3]) {
    ip('netns', 'add', ns(i));
    ctx.made.push(ns(i));
    ip('-n', ns(i), 'link', 'set', 'lo', 'up');
    ip('-n', hub, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(i));
    ip('-n', hub, 'link', 'set', `v${i}`, 'master', 'br0', 'up');
    ip('-n', ns(i), 'addr', 'add', `${addr(i)}/24`, 'dev', 'eth0');
    ip('-n', ns(i), 'link', 'set', 'eth0', 'up');
    ip('-n', ns(i), 'route', 'add', '224.0.0.0/4', 'dev', 'eth0');
  }
}

function startNode(ctx: Ctx, id: number, topic: string): Node {
  const db = join(ctx.dir.path, `node-${id}-${randomBytes(3).toString('hex')}.sqlite`);
  const proc = run(
    [
      '--id',
      String(id),
      '--broker',
      `stomp://${HUB_ADDR}:${BROKER_PORT}`,
      '--broker-credentials',
      join(ctx.dir.path, 'broker', 'credentials'),
      '--topic',
      topic,
      '--port',
      String(PORT),
      '--iface',
      addr(id),
      '--host',
      addr(id),
      '--db',
      db,
      '--heartbeat',
      '250',
      '--cluster-size',
      '3',
      '--headless',
    ],
    {},
    ['ip', 'netns', 'exec', ns(id)],
  );
  return { id, proc, db };
}

type Announced = { acked: string[]; errors: string[]; timeouts: number };
/** COUNT announces from the hub to the group, through a client process inside the hub namespace (an abort comes after the vote timeout). */
const announce = (count: number, infoHash: Buffer, timeoutMs = 1500): Promise<Announced> =>
  new Promise((resolve, reject) => {
    const child = spawn('ip', [
      'netns',
      'exec',
      hub,
      process.execPath,
      'dist/spec/helpers/ns-announcer.js',
      GROUP,
      String(PORT),
      HUB_ADDR,
      String(count),
      infoHash.toString('hex'),
      String(timeoutMs),
    ]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as Announced) : reject(new Error(`announcer exited ${code}: ${err}`)),
    );
  });

test.after.each(async (ctx) => {
  await killAll(ctx.nodes);
  ctx.nodes = [];
  try {
    execFileSync('bash', ['scripts/broker.sh', 'stop', '--dir', join(ctx.dir.path, 'broker')], { stdio: 'ignore' });
  } catch {
    /* not started */
  }
  for (const n of ctx.made.reverse()) {
    try {
      ip('netns', 'del', n); // deleting a namespace deletes its veth ends too
    } catch {
      /* already gone */
    }
  }
  ctx.made = [];
});
test.after((ctx) => ctx.dir.remove());

async function partitionAndHeal(ctx: Ctx): Promise<void> {
  makeNetwork(ctx);
  const port = broker(['start', '--port', String(BROKER_PORT), '--dir', join(ctx.dir.path, 'broker')], { BROKER_HOST: HUB_ADDR })
    .trim()
    .split('\n')
    .pop();
  assert.is(port, String(BROKER_PORT));
  const topic = `partition-${tag}`;
  for (const id of [1, 2, 3]) ctx.nodes.push(startNode(ctx, id, topic));
  // Whoever won (a slow start can let 2 win before 3 is heard: a live Master is never deposed by a newcomer).
  await eventually(
    () => ctx.nodes.filter((n) => /holding the service address/.test(n.proc.stderr())).length,
    (k) => k === 1,
    15_000,
  );
  const master = ctx.nodes.find((n) => /holding the service address/.test(n.proc.stderr()))!;
  const slaves = ctx.nodes.filter((n) => n !== master);
  await Promise.all(slaves.map((n) => n.proc.waitFor(/role slave/, 15_000)));
  const ih = randomBytes(20);

  const before = await announce(20, ih);
  assert.is(before.acked.length, 20, `healthy cluster: ${JSON.stringify(before)}`);

  // Partition: the two Slaves lose the bridge (the broker and the group); the Master keeps both.
  for (const n of slaves) ip('-n', hub, 'link', 'set', `v${n.id}`, 'down');
  for (const n of slaves) await master.proc.waitFor(new RegExp(`instance ${n.id} .*is down`), 5000);
  const during = await announce(20, ih);
  process.stdout.write(
    `  partition: ${during.acked.length} of 20 announces acknowledged by the minority, ${during.errors.length} error replies, ${during.timeouts} unanswered\n`,
  );
  assert.is(during.acked.length, 0, 'the minority acknowledged an announce');
  assert.ok(during.errors.length > 0, 'peers are told (a BEP 15 error reply), not left waiting');
  assert.ok(
    during.errors.every((e) => /majority/.test(e)),
    during.errors[0],
  );
  assert.is(sqliteDigest(master.db).peers, 20, 'nothing was committed during the partition');

  // Heal one Slave first: with it the Master has a majority and commits.
  const [early, late] = slaves as [Node, Node];
  ip('-n', hub, 'link', 'set', `v${early.id}`, 'up');
  let after: Announced = { acked: [], errors: [], timeouts: 0 };
  await eventually(
    async () => (after = await announce(1, ih)),
    (a) => a.acked.length === 1,
    30_000,
    200,
  );
  assert.is(after.acked.length, 1, 'the healed cluster commits again');
  const more = await announce(10, ih);
  const acked = [...before.acked, ...after.acked, ...more.acked];
  // The other comes back once those rounds are over and none follows: nothing but the Master's keepalives can tell
  // it that it is behind.
  ip('-n', hub, 'link', 'set', `v${late.id}`, 'up');
  // Well before the Master's next expiry sweep (30 s after its start), a round that would show the gap anyway.
  const ds = await settled(ctx.nodes, holdsAll(acked), 8_000);
  assert.ok(
    ds.every((d) => d === ds[0]),
    'identical repositories after healing',
  );
  for (const n of ctx.nodes)
    assert.equal(
      acked.filter((p) => !peerIdsIn(n.db).has(p)),
      [],
      `instance ${n.id} lost acknowledged announces`,
    );
  const masters = ctx.nodes.filter((n) => [...n.proc.stderr().matchAll(/role (\w+)/g)].pop()?.[1] === 'master');
  assert.is(masters.length, 1, 'exactly one Master');
}

test('a Master left alone with the broker (a minority of 3) commits nothing; after healing all agree', (ctx) =>
  logsOnFailure(ctx.nodes, () => partitionAndHeal(ctx)));

test.run();
