/** The UI driving a real tracker through the host: Stop/Start and the simulated failure reach the actors. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { render } from 'ink-testing-library';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { asyncScheduler, firstValueFrom, filter, of } from 'rxjs';
import { resolveConfig } from '../../src/config/index.js';
import { createHost } from '../../src/node/host.js';
import { App } from '../../src/ui/app.js';
import { encodeConnectRequest } from '../../src/protocol/encode.js';
import { freeUdpPort } from '../helpers/process.js';
import { tempDir } from '../helpers/temp.js';
import { openClient } from '../helpers/udp-client.js';

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

test('f cuts the tracker off (no replies, role isolated) and f again brings it back; s stops and empties it', async () => {
  const dir = tempDir('ui-host');
  const port = await freeUdpPort();
  const cfg = resolveConfig({
    id: 4,
    network: { host: '127.0.0.1', port },
    storage: { db: join(dir.path, 'ui.sqlite') },
    policy: { intervalS: 60, peerTtlS: 120 },
    cluster: { batchMs: 1 },
  });
  const host = createHost(cfg, { scheduler: asyncScheduler, clock: asyncScheduler, key: randomBytes(32), log: () => {}, sampleMs: 50 });
  await host.command({ type: 'start' });
  const source = { ...host, logs$: of([]), command: (c: Parameters<typeof host.command>[0]) => host.command(c) };
  const ui = render(<App config={cfg} source={source} />);
  const client = await openClient({ host: '127.0.0.1', port }, '127.0.0.1', 300);
  try {
    await client.announce({ infoHash: randomBytes(20) });
    ui.stdin.write('f');
    await firstValueFrom(host.status$.pipe(filter((s) => s.cut && s.role === 'isolated')));
    await settle();
    assert.match(ui.lastFrame()!, /cut off \(simulated failure\), isolated/);
    assert.is(await client.raw(encodeConnectRequest(1), 300), null, 'no reply while cut off');
    ui.stdin.write('f');
    await firstValueFrom(host.status$.pipe(filter((s) => !s.cut && s.role === 'master')));
    assert.is((await client.announce({ infoHash: randomBytes(20) })).action, 'announce', 'serving again');
    const tracker = host.current()!;
    ui.stdin.write('s');
    await firstValueFrom(host.status$.pipe(filter((s) => !s.running)));
    await settle();
    assert.match(ui.lastFrame()!, /\[s\] Start the tracker/);
    assert.is(tracker.repo.store.swarms.size, 0, 'stopping empties the repository');
    assert.is(await client.raw(encodeConnectRequest(2), 300), null, 'stopped: nothing answers');
    ui.stdin.write('s');
    await firstValueFrom(host.status$.pipe(filter((s) => s.running && s.role === 'master')));
    assert.is((await client.announce({ infoHash: randomBytes(20) })).action, 'announce', 'started again');
  } finally {
    ui.unmount();
    await client.close();
    await host.command({ type: 'stop' });
    dir.remove();
  }
});

test('the charts sample a real tracker: UDP requests per second, commit latency, one live instance; peers get client names', async () => {
  const dir = tempDir('ui-host-charts');
  const port = await freeUdpPort();
  const cfg = resolveConfig({
    id: 5,
    network: { host: '127.0.0.1', port },
    storage: { db: join(dir.path, 'charts.sqlite') },
    policy: { intervalS: 60, peerTtlS: 120 },
    cluster: { batchMs: 1 },
  });
  const host = createHost(cfg, { scheduler: asyncScheduler, clock: asyncScheduler, key: randomBytes(32), log: () => {}, sampleMs: 100 });
  await host.command({ type: 'start' });
  const client = await openClient({ host: '127.0.0.1', port }, '127.0.0.1', 300);
  try {
    const infoHash = randomBytes(20);
    await client.announce({ infoHash, peerId: Buffer.from('-qB4650-abcdefghijkl') });
    await client.announce({ infoHash, peerId: Buffer.from('-TR4060-abcdefghijkl') });
    const samples = await firstValueFrom(
      host.charts$.pipe(filter((ss) => ss.some((x) => x.udp > 0) && ss.some((x) => x.commitMs !== null))),
    );
    assert.ok(samples.every((x) => x.live === 1 && x.http === 0));
    const peers = await firstValueFrom(host.peers$(infoHash.toString('hex'), 12).pipe(filter((p) => p.total === 2)));
    assert.equal(peers.rows.map((p) => `${p.client}/${p.family}`).sort(), [
      'Transmission 4.0.6/Transmission',
      'qBittorrent 4.6.5/qBittorrent',
    ]);
    // A page of one: one row made, the count and the clients still of the whole swarm.
    const page = await firstValueFrom(host.peers$(infoHash.toString('hex'), 1).pipe(filter((p) => p.total === 2)));
    assert.is(page.rows.length, 1);
    assert.equal(page.clients.map((c) => c.name).sort(), ['Transmission', 'qBittorrent']);
  } finally {
    await client.close();
    await host.command({ type: 'stop' });
    dir.remove();
  }
});

test('rejected$: the counts by reason of the running instance, sampled on the tick; all zero while stopped', async () => {
  const dir = tempDir('ui-host-rejects');
  const cfg = resolveConfig({
    id: 5,
    network: { host: '127.0.0.1', port: await freeUdpPort() },
    storage: { db: join(dir.path, 'r.sqlite') },
    policy: { intervalS: 60, peerTtlS: 120 },
    cluster: { batchMs: 1 },
  });
  const host = createHost(cfg, { scheduler: asyncScheduler, clock: asyncScheduler, key: randomBytes(32), log: () => {}, sampleMs: 20 });
  try {
    const zero = await firstValueFrom(host.rejected$);
    assert.equal(zero, { 'bad-tag': 0, replayed: 0, 'unknown-sender': 0, malformed: 0, 'bad-changes': 0, 'bad-snapshot': 0 });
    await host.command({ type: 'start' });
    host.current()!.metrics.countClusterReject('replayed');
    host.current()!.metrics.countClusterReject('replayed');
    host.current()!.metrics.countClusterReject('bad-tag');
    const counted = await firstValueFrom(host.rejected$.pipe(filter((r) => r.replayed === 2)));
    assert.is(counted['bad-tag'], 1);
    assert.is(counted['unknown-sender'], 0);
  } finally {
    await host.command({ type: 'stop' });
    dir.remove();
  }
});

test.run();
