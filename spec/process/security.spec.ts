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
import {
  CONNECTION_KEY_PERIOD_S,
  checkConnectionId,
  connectionKeySchedule,
  deriveConnectionKey,
} from '../../src/protocol/connection-id.js';
import { brokerLogin, brokerUrl, newTopic, sqliteDigest, startNode, type Node, SERVING, startThree, killAll } from '../helpers/cluster.js';
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

  const stranger = connectBroker({ url: brokerUrl(), topic, ...brokerLogin(brokerUrl()), log: () => {} });
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

test("with a secret, a stranger replaying the Master's recorded keepalives cannot delay failover; its sync-requests start no transfer; no frame carries the connection-ID key", async (ctx) => {
  const secret = randomBytes(24).toString('hex');
  const topic = newTopic();
  const port = await freeUdpPort();
  const heartbeatMs = 250;
  const o = { brokerUrl: brokerUrl(), port, dir: ctx.dir.path, topic, heartbeatMs, env: { TRACKER_CLUSTER_SECRET: secret } };
  // The stranger has no secret; it subscribes before the first instance starts and records every frame.
  const stranger = connectBroker({ url: brokerUrl(), topic, ...brokerLogin(brokerUrl()), log: () => {} });
  const frames: Array<{ at: number; m: Record<string, unknown> }> = [];
  const recording = stranger.messages$.subscribe((m) => frames.push({ at: Date.now(), m: m as Record<string, unknown> }));
  const client = await openClient({ host: '127.0.0.1', port }, '127.0.0.1', 250);
  let replay: NodeJS.Timeout | undefined;
  // Transfer parts travel on the joiner's own queue, never on the topic; what a Master starts, its log says.
  const isPart = (f: { m: Record<string, unknown> }): boolean => f.m.type === 'transfer';
  const transfersStarted = (n: { proc: { stderr(): string } }): number =>
    (n.proc.stderr().match(/(state transfer to|catch-up of) instance \d+:/g) ?? []).length;
  try {
    await firstValueFrom(stranger.connected$.pipe(filter(Boolean)));
    ctx.nodes.push(...(await startThree(o, ['--metrics-port', '0'])));
    const master = ctx.nodes[2]!;
    await master.proc.waitFor(/role master \(epoch 1/);
    await master.proc.waitFor(SERVING);
    await Promise.all(ctx.nodes.slice(0, 2).map((n) => n.proc.waitFor(/role slave/)));
    // Traffic, so PREPAREs, votes and COMMITs cross the topic and a joiner has a repository to receive.
    for (let i = 0; i < 5; i++) assert.is((await client.announce({ infoHash: randomBytes(20) })).action, 'announce');
    const before = transfersStarted(master);
    const joiner = startNode(4, o, ['--metrics-port', '0']);
    ctx.nodes.push(joiner);
    await joiner.proc.waitFor(/state transfer complete: \d+ records at commit 5/);
    await joiner.proc.waitFor(/role slave \(epoch 1, master 3\)/);
    assert.is(transfersStarted(master), before + 1, 'the Master sent the joiner its state');
    assert.not.ok(frames.some(isPart), 'no transfer part on the topic');

    // The stranger's own sync-request (unsigned), and a replay of the joiner's signed one: no chunk for either.
    // (After two keepalive intervals, so the joiner itself has heard a later message of its own: its echoed keepalive.)
    await new Promise((r) => setTimeout(r, 2 * heartbeatMs));
    const started = transfersStarted(master);
    const recordedSync = frames.find((f) => f.m.type === 'sync-request' && f.m.from === 4);
    assert.ok(recordedSync, "the joiner's sync-request was recorded");
    stranger.publish({ type: 'sync-request', from: 99, epoch: 1, applied: 0, transfer: '0123456789abcdef' });
    stranger.publish(recordedSync.m);
    // Deliberate: nothing answering is the outcome, so give a Master 4 keepalive intervals to answer.
    await new Promise((r) => setTimeout(r, 4 * heartbeatMs));
    assert.is(transfersStarted(master), started, "no transfer started for the stranger's sync-requests");

    // An ID minted by this Master, under the key every instance derives from the secret.
    const cid = await client.connect();
    const keys = connectionKeySchedule(Buffer.from(secret, 'utf8'));
    assert.is(checkConnectionId(keys, Date.now(), Buffer.from([127, 0, 0, 1]), cid), 'valid', 'the Master uses the derived key');

    // The Master's keepalives of the last 4 intervals, replayed every quarter interval from its pause on.
    await new Promise((r) => setTimeout(r, 4 * heartbeatMs));
    const since = Date.now() - 4 * heartbeatMs;
    const recorded = frames.filter((f) => f.at >= since && f.m.type === 'keepalive' && f.m.from === 3).map((f) => f.m);
    assert.ok(recorded.length >= 3, `${recorded.length} keepalives of the Master recorded`);
    let replayed = 0;
    replay = setInterval(() => stranger.publish(recorded[replayed++ % recorded.length]), heartbeatMs / 4);
    master.proc.kill('SIGSTOP');
    const pausedAt = Date.now();
    // The connection ID minted by the paused Master, sent to whoever holds the service address now.
    let failoverMs = Number.NaN;
    while (Date.now() - pausedAt < 10_000) {
      const r = await client.announce({ infoHash: randomBytes(20) }, cid).catch(() => null);
      if (r?.action === 'announce') {
        failoverMs = Date.now() - pausedAt;
        break;
      }
    }
    // The replay runs on through a few more intervals with a new Master in place.
    await new Promise((r) => setTimeout(r, 4 * heartbeatMs));
    clearInterval(replay);
    replay = undefined;
    process.stderr.write(
      `  failover under replay: first announce answered ${failoverMs} ms after SIGSTOP; ${replayed} keepalives replayed\n`,
    );
    assert.ok(failoverMs < 4000, `a new Master answered ${failoverMs} ms after the pause, while the replay ran`);
    assert.ok(replayed >= (failoverMs / heartbeatMs) * 4 - 1, 'the replay ran until the failover');
    const others = ctx.nodes.filter((n) => n.id !== 3);
    await Promise.all(others.map((n) => n.proc.waitFor(/role (master|slave) \(epoch 2/)));

    // Every live instance refused each replayed keepalive and the replayed sync-request as replayed, the
    // stranger's unsigned sync-request as bad_tag, and nothing else.
    await new Promise((r) => setTimeout(r, 2 * heartbeatMs)); // the last replays reach every subscriber
    for (const n of others) {
      const count = (reason: string) => metricValue(n, new RegExp(`^tracker_cluster_messages_rejected_total\\{.*reason="${reason}"`));
      assert.is(await count('replayed'), replayed + 1, `instance ${n.id}: replayed`);
      assert.is(await count('bad_tag'), 1, `instance ${n.id}: bad_tag`);
      assert.is(await count('unknown_sender'), 0, `instance ${n.id}: unknown_sender`);
      assert.is(await count('malformed'), 0, `instance ${n.id}: malformed`);
    }

    // No frame on the topic carries a connection-ID key or the secret (transfer parts: node/state-transfer.spec).
    const period = Math.floor(Date.now() / 1000 / CONNECTION_KEY_PERIOD_S);
    const needles = [secret];
    for (const p of [period - 1, period, period + 1]) {
      const k = deriveConnectionKey(Buffer.from(secret, 'utf8'), p);
      needles.push(k.toString('hex'), k.toString('base64'), k.toString('base64url'));
    }
    assert.ok(frames.length > 100, `${frames.length} frames recorded`);
    for (const f of frames) {
      const text = JSON.stringify(f.m);
      for (const needle of needles) assert.not.ok(text.includes(needle), `a ${String(f.m.type)} frame carries key material`);
    }
  } finally {
    if (replay) clearInterval(replay);
    ctx.nodes.find((n) => n.id === 3)?.proc.kill('SIGCONT');
    recording.unsubscribe();
    await client.close();
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
