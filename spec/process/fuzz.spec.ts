/**
 * A live fuzzer against a running 3-node cluster: random bytes, requests with forged connection IDs, and
 * requests with a valid ID but broken structure, to the group and to the service address. Nothing may crash,
 * memory must stay bounded, no reply before a valid connection ID may be larger than its request, and the
 * repositories must not change.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { encodeScrapeRequest } from '../../src/protocol/encode.js';
import { brokerUrl, newTopic, settled, sqliteDigest, type Node, SERVING, startThree, killAll } from '../helpers/cluster.js';
import { freeUdpPort } from '../helpers/process.js';
import { tempDir } from '../helpers/temp.js';
import { announceRequest, openClient } from '../helpers/udp-client.js';

const test = suite<{ nodes: Node[]; dir: ReturnType<typeof tempDir> }>('fuzz', { nodes: [], dir: tempDir('fuzz') });
test.after.each(async (ctx) => {
  await killAll(ctx.nodes);
  ctx.nodes = [];
});
test.after((ctx) => ctx.dir.remove());

const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

test('20,000 fuzzed datagrams: no crash, bounded memory, no amplification, repositories unchanged', async (ctx) => {
  const port = await freeUdpPort();
  const o = { brokerUrl: brokerUrl(), port, dir: ctx.dir.path, topic: newTopic(), heartbeatMs: 250 };
  ctx.nodes.push(...(await startThree(o)));
  await ctx.nodes[2]!.proc.waitFor(/role master/);
  await ctx.nodes[2]!.proc.waitFor(SERVING);
  await Promise.all(ctx.nodes.slice(0, 2).map((n) => n.proc.waitFor(/role slave/)));

  // Some real state first, so "unchanged" means something.
  const c = await openClient({ host: '127.0.0.1', port });
  const ih = randomBytes(20);
  for (let i = 0; i < 20; i++) await c.announce({ infoHash: ih, left: BigInt(i % 2) });
  const validId = await c.connect();
  await c.close();
  const before = await settled(ctx.nodes, (db) => sqliteDigest(db).peers === 20);
  const rssBefore = ctx.nodes.map((n) => rssKb(n.proc.child.pid!));

  // The fuzzer's socket is the client whose valid ID we hold; forged IDs come from it too.
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  s.setMulticastInterface('127.0.0.1');
  s.setRecvBufferSize(4 << 20);
  const sent = new Map<number, { len: number; authed: boolean }>();
  const violations: string[] = [];
  let replies = 0;
  s.on('message', (m) => {
    replies++;
    if (m.length < 8) return violations.push(`reply of ${m.length} bytes`);
    const req = sent.get(m.readUInt32BE(4));
    if (req && !req.authed && m.length > req.len) violations.push(`${m.length}-byte reply to a ${req.len}-byte unauthenticated request`);
  });

  const announce = (cid: bigint, tid: number): Buffer => announceRequest({ connectionId: cid, transactionId: tid, left: 0n, port: 1234 });
  const N = 20_000;
  for (let i = 0; i < N; i++) {
    const tid = 0x10000000 + i;
    let buf: Buffer;
    let authed = false;
    switch (i % 6) {
      case 0:
        buf = randomBytes(1 + Math.floor(Math.random() * 1400));
        break;
      case 1:
        buf = announce(validId ^ BigInt(1 + (i % 255)), tid);
        break; // forged ID
      case 2:
        buf = announce(validId, tid).subarray(0, 16 + (i % 82));
        authed = true;
        break; // short announce
      case 3:
        buf = announce(validId, tid);
        buf.writeUInt32BE(4 + (i % 100), 80);
        authed = true;
        break; // bad event
      case 4:
        buf = encodeScrapeRequest(
          validId,
          tid,
          Array.from({ length: 75 + (i % 50) }, () => randomBytes(20)),
        );
        authed = true;
        break;
      default:
        buf = announce(validId, tid);
        buf.writeUInt32BE(4 + (i % 1000), 8);
        authed = true;
        break; // unknown action
    }
    if (buf.length >= 16) buf.writeUInt32BE(tid, 12);
    sent.set(tid, { len: buf.length, authed });
    s.send(buf, port, i % 2 ? '239.192.0.1' : '127.0.0.1');
    // Paced like a busy client rather than a flood, so replies are not lost in socket buffers.
    if (i % 100 === 0) await new Promise((r) => setTimeout(r, 2));
  }
  // Deliberate: some datagrams get no reply, so there is no last one to wait for; the window also lets any
  // commit a fuzzed datagram wrongly started reach SQLite before the digests are compared.
  await new Promise((r) => setTimeout(r, 1000));
  s.close();

  process.stdout.write(`  fuzz: ${N} datagrams sent, ${replies} replies\n`);
  assert.equal(violations.slice(0, 5), [], 'no amplification');
  assert.ok(replies > N / 2, 'structurally broken requests with a valid ID are answered with errors');
  for (const n of ctx.nodes) assert.is(n.proc.child.exitCode, null, `instance ${n.id} is alive`);
  ctx.nodes.forEach((n, i) => {
    const grown = rssKb(n.proc.child.pid!) - rssBefore[i]!;
    assert.ok(grown < 64 * 1024, `instance ${n.id} grew by ${grown} kB`);
  });
  const after = ctx.nodes.map((n) => sqliteDigest(n.db).digest);
  assert.equal(after, before, 'invalid requests changed no repository');
  const c2 = await openClient({ host: '127.0.0.1', port });
  assert.is((await c2.announce({ infoHash: ih })).action, 'announce', 'still serving');
  await c2.close();
});

test.run();
