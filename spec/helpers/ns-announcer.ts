/**
 * Run inside a test's network namespace (`ip netns exec NS node dist/spec/helpers/ns-announcer.js …`): announces
 * COUNT new peers of one swarm to TARGET:PORT from BIND, each with its own connect, and prints one JSON line:
 * the peer IDs acknowledged, error replies and timeouts. A test in the root namespace cannot open sockets there.
 */
import { openClient } from './udp-client.js';
import { randomBytes } from 'node:crypto';

const [target, port, bind, count, infoHash, timeoutMs] = process.argv.slice(2);
const c = await openClient({ host: target!, port: Number(port) }, bind, Number(timeoutMs ?? 700));
const result = { acked: [] as string[], errors: [] as string[], timeouts: 0 };
for (let i = 0; i < Number(count); i++) {
  const peerId = randomBytes(20);
  try {
    const r = await c.announce({ infoHash: Buffer.from(infoHash!, 'hex'), peerId });
    if (r.action === 'announce') result.acked.push(peerId.toString('hex'));
    else if (r.action === 'error') result.errors.push(r.message);
  } catch {
    result.timeouts++;
  }
}
await c.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
