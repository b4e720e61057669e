/**
 * A Master whose broker connection hangs (a frozen TCP proxy: no close, no error) while it still receives the
 * multicast group must stop answering before the others elect a new Master: never two replies to one request.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import dgram from 'node:dgram';
import net from 'node:net';
import { encodeConnectRequest } from '../../src/protocol/encode.js';
import { brokerUrl, eventually, newTopic, startNode, type Node, SERVING, killAll, credentialsFor } from '../helpers/cluster.js';
import { freeUdpPort } from '../helpers/process.js';
import { tempDir } from '../helpers/temp.js';

const test = suite<{ nodes: Node[]; dir: ReturnType<typeof tempDir> }>('cutoff', { nodes: [], dir: tempDir('cutoff') });
test.after.each(async (ctx) => {
  await killAll(ctx.nodes);
  ctx.nodes = [];
});
test.after((ctx) => ctx.dir.remove());

/** A TCP proxy that can be frozen: bytes stop flowing both ways, connections stay open. */
async function freezableProxy(target: { host: string; port: number }) {
  let frozen = false;
  const sockets: net.Socket[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.push(client, upstream);
    client.on('data', (d) => frozen || upstream.write(d));
    upstream.on('data', (d) => frozen || client.write(d));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => (frozen = true),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

test('a Master cut off from the broker stops answering the group before a new Master is elected', async (ctx) => {
  const url = new URL(brokerUrl().replace('stomp:', 'http:'));
  const proxy = await freezableProxy({ host: url.hostname, port: Number(url.port) });
  try {
    const port = await freeUdpPort();
    const o = { brokerUrl: brokerUrl(), port, dir: ctx.dir.path, topic: newTopic(), heartbeatMs: 250 };
    const credentials = credentialsFor(brokerUrl());
    ctx.nodes.push(startNode(1, o), startNode(2, o), startNode(3, { ...o, brokerUrl: `stomp://127.0.0.1:${proxy.port}`, credentials }));
    await ctx.nodes[2]!.proc.waitFor(/role master \(epoch 1/);
    await ctx.nodes[2]!.proc.waitFor(SERVING);
    await Promise.all(ctx.nodes.slice(0, 2).map((n) => n.proc.waitFor(/role slave/)));

    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    s.setMulticastInterface('127.0.0.1');
    const replies = new Map<number, number>();
    s.on('message', (m) => m.length >= 8 && replies.set(m.readUInt32BE(4), (replies.get(m.readUInt32BE(4)) ?? 0) + 1));
    let tid = 1;
    const ticker = setInterval(() => s.send(encodeConnectRequest(tid++), port, '239.192.0.1'), 10);
    // The Master answers the group before its broker connection hangs.
    await eventually(
      () => replies.size,
      (n) => n >= 10,
      10_000,
      20,
    );
    proxy.freeze();
    await ctx.nodes[1]!.proc.waitFor(/role master \(epoch 2/, 10_000);
    const elected = tid;
    await eventually(() => [...replies.keys()].some((t) => t > elected), Boolean, 10_000, 20);
    // Deliberate: requests keep reaching both the new Master and the cut-off one, where any double reply would show.
    await new Promise((r) => setTimeout(r, 500));
    clearInterval(ticker);
    await new Promise((r) => setTimeout(r, 300)); // deliberate: collect late duplicates
    s.close();

    const doubled = [...replies].filter(([, n]) => n > 1).length;
    process.stdout.write(`  cut-off: ${tid - 1} requests to the group, ${replies.size} answered, ${doubled} answered twice\n`);
    assert.is(doubled, 0, 'never two Masters replying');
    assert.match(ctx.nodes[2]!.proc.stderr(), /own keepalives are not coming back through the broker: isolated/);
    assert.ok(replies.size > 0 && [...replies.keys()].some((t) => t > tid - 40), 'the new Master answers');
  } finally {
    proxy.close();
  }
});

test.run();
