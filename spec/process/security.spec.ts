/**
 * Cluster messages are authenticated with a shared secret: a stranger on the broker cannot win an election,
 * commit anything or pose as an instance; an instance with the secret joins normally. Secrets and broker
 * credentials are never taken from the command line.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { filter, firstValueFrom } from 'rxjs';
import { connectBroker } from '../../streams/broker/stomp-bridge.js';
import { createSigner } from '../../src/bus/auth.js';
import { encodeChanges } from '../../src/bus/wire.js';
import { brokerUrl, newTopic, sqliteDigest, startNode, type Node, SERVING, startThree, killAll } from '../helpers/cluster.js';
import { freeUdpPort, run } from '../helpers/process.js';
import { tempDir } from '../helpers/temp.js';
import { openClient } from '../helpers/udp-client.js';

const test = suite<{ nodes: Node[]; dir: ReturnType<typeof tempDir> }>('security', { nodes: [], dir: tempDir('security') });
test.after.each(async (ctx) => {
  await killAll(ctx.nodes);
  ctx.nodes = [];
});
test.after((ctx) => ctx.dir.remove());

/** One series of an instance's /metrics (its `--metrics-port 0` listener, logged at start). */
async function metricValue(n: Node, series: RegExp): Promise<number> {
  const port = Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(n.proc.stderr())?.[1]);
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => series.test(l));
  return line === undefined ? Number.NaN : Number(line.split(' ').pop());
}

test('forged COORDINATOR, COMMIT, PREPARE and keepalives without the secret change nothing and are counted; a keyed joiner is accepted', async (ctx) => {
  const secret = randomBytes(24).toString('hex');
  const topic = newTopic();
  const port = await freeUdpPort();
  const o = { brokerUrl: brokerUrl(), port, dir: ctx.dir.path, topic, heartbeatMs: 250, env: { TRACKER_CLUSTER_SECRET: secret } };
  ctx.nodes.push(...(await startThree(o, ['--metrics-port', '0'])));
  await ctx.nodes[2]!.proc.waitFor(/role master \(epoch 1/);
  await ctx.nodes[2]!.proc.waitFor(SERVING);
  await Promise.all(ctx.nodes.slice(0, 2).map((n) => n.proc.waitFor(/role slave/)));

  const stranger = connectBroker({ url: brokerUrl(), topic, log: () => {} });
  const wrongKey = createSigner(Buffer.from('not the cluster secret at all'), randomBytes(8).toString('hex'));
  try {
    await firstValueFrom(stranger.connected$.pipe(filter(Boolean)));
    const ih = randomBytes(20).toString('hex');
    const forged = [
      { type: 'coordinator', from: 99, epoch: 1000 },
      { type: 'keepalive', from: 99, epoch: 1000, role: 'master', synced: true, nonce: 'x', applied: 10_000, startedAt: 0 },
      {
        type: 'prepare',
        from: 3,
        epoch: 1,
        seq: 1,
        changes: encodeChanges([
          {
            kind: 'announce',
            infoHash: Buffer.from(ih, 'hex'),
            peerId: Buffer.from(ih, 'hex'),
            ip: Buffer.from([127, 0, 0, 1]),
            port: 1,
            uploaded: 0n,
            downloaded: 0n,
            left: 0n,
            event: 2,
            at: 0,
          },
        ]),
      },
      { type: 'commit', from: 3, epoch: 1, seq: 1 },
      { type: 'election', from: 99, epoch: 1000 },
    ];
    for (let round = 0; round < 3; round++) {
      for (const m of forged) {
        stranger.publish(m); // no tag
        stranger.publish(wrongKey.sign(m)); // a tag under the wrong secret
      }
      await new Promise((r) => setTimeout(r, 150)); // spread over time, as a live stranger would send them
    }
    // Deliberate: a dropped message leaves no signal to wait for, so give a forged one that got through more than
    // two keepalive intervals to show (a new epoch, a Master 99, a stored peer).
    await new Promise((r) => setTimeout(r, 600));
    for (const n of ctx.nodes) {
      assert.not.match(n.proc.stderr(), /epoch 1000|master 99|instance 99/, `instance ${n.id} followed a forged message`);
      assert.is(sqliteDigest(n.db).peers, 0, `instance ${n.id} stored a forged commit`);
    }
    // 5 forged messages × 2 (no tag, wrong tag) × 3 rounds reach every instance: each counts all 30, by reason.
    for (const n of ctx.nodes) {
      assert.is(
        await metricValue(n, /^tracker_cluster_messages_rejected_total\{.*reason="bad_tag"/),
        30,
        `instance ${n.id}: rejected as bad_tag`,
      );
      assert.is(
        await metricValue(n, /^tracker_cluster_messages_rejected_total\{.*reason="malformed"/),
        0,
        `instance ${n.id}: nothing else rejected`,
      );
    }
    const c = await openClient({ host: '127.0.0.1', port });
    assert.is((await c.announce({ infoHash: randomBytes(20) })).action, 'announce', 'the real Master still serves');
    await c.close();

    const joiner = startNode(4, o);
    ctx.nodes.push(joiner);
    await joiner.proc.waitFor(/state transfer complete/);
    await joiner.proc.waitFor(/role slave \(epoch 1, master 3\)/);
  } finally {
    await stranger.close();
  }
});

test('secrets are read from a file or the environment; a short or unreadable secret is refused', async (ctx) => {
  const short = join(ctx.dir.path, 'short');
  writeFileSync(short, 'tiny\n');
  const p1 = run(['--id', '1', '--headless', '--secret-file', short]);
  assert.is(await p1.exited(), 2);
  assert.match(p1.stderr(), /cluster secret must be at least 16 characters/);
  const p2 = run(['--id', '1', '--headless', '--secret-file', join(ctx.dir.path, 'missing')]);
  assert.is(await p2.exited(), 2);
  assert.match(p2.stderr(), /cannot read a secret/);
  const p3 = run(['--id', '1', '--headless', '--broker-password', 'x']);
  assert.is(await p3.exited(), 2, 'no flag takes a password');
});

test.run();
