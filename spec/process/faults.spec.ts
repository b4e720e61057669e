/**
 * Fault matrix with a consistency checker: every announce a client got a success reply for is logged, and
 * after every fault all live repositories must be identical, hold every acknowledged announce, and exactly
 * one instance must be Master. Between faults the load must be acknowledged again: a cluster that stopped
 * acknowledging would otherwise lose nothing and pass.
 */
import * as assert from 'uvu/assert';
import {
  ackedBeyond,
  brokerUrl,
  eventually,
  newTopic,
  startNode,
  type ClusterOpts,
  SERVING,
  startThree,
  clusterSuite,
} from '../helpers/cluster.js';
import { freeUdpPort } from '../helpers/process.js';
import { alive, consistent, lastRole, load } from '../helpers/load.js';

const test = clusterSuite('faults', 'faults');

/** New announces each stretch between faults must see acknowledged (about 0.3 s of this load when healthy). */
const ACKS_BETWEEN_FAULTS = 20;

test('10 successive Master kills under load, then a Slave killed and restarted: nothing acknowledged is lost', async (ctx) => {
  const port = await freeUdpPort();
  const o: ClusterOpts & { topic: string } = { brokerUrl: brokerUrl(), port, dir: ctx.dir.path, topic: newTopic(), heartbeatMs: 250 };
  ctx.nodes.push(...(await startThree(o)));
  await ctx.nodes[2]!.proc.waitFor(/role master/);
  await ctx.nodes[2]!.proc.waitFor(SERVING);
  await Promise.all(ctx.nodes.slice(0, 2).map((n) => n.proc.waitFor(/role slave/)));
  const acked: string[] = [];
  const l = load(ctx, port, acked);
  let faults = 0;
  let mark = 0;
  for (let k = 0; k < 10; k++) {
    // Instead of a fixed time under load: announces acknowledged since the previous fault (or the start).
    await ackedBeyond(acked, mark, ACKS_BETWEEN_FAULTS, k === 0 ? 'before the first fault' : `after Master kill ${k}`);
    const master = ctx.nodes.find((n) => alive(n) && lastRole(n) === 'master')!;
    master.proc.kill('SIGKILL');
    await master.proc.exited();
    // The killed instance comes back (same ID, new process) and joins as a Slave.
    const back = startNode(master.id, o);
    ctx.nodes.push(back);
    await back.proc.waitFor(/role slave/, 20_000);
    faults++;
    await l.pause();
    await consistent(ctx.nodes, acked, `after Master kill ${k + 1}`);
    // Paused: nothing in flight, so whatever is acknowledged from here on came after this fault.
    mark = acked.length;
    l.resume();
  }
  await ackedBeyond(acked, mark, ACKS_BETWEEN_FAULTS, 'after Master kill 10');
  const slave = ctx.nodes.find((n) => alive(n) && lastRole(n) === 'slave')!;
  const serving = ctx.nodes.find((n) => alive(n) && lastRole(n) === 'master')!;
  const logged = serving.proc.stderr().length;
  slave.proc.kill('SIGKILL');
  await slave.proc.exited();
  // The Master notices the Slave is gone, and the remaining two go on committing without it.
  const down = new RegExp(`instance ${slave.id} \\(slave\\) is down`);
  await eventually(
    () => serving.proc.stderr().slice(logged),
    (e) => down.test(e),
    10_000,
  );
  assert.match(serving.proc.stderr().slice(logged), down, 'the Master noticed the Slave was killed');
  await ackedBeyond(acked, acked.length, ACKS_BETWEEN_FAULTS, 'with the Slave down');
  const again = startNode(slave.id, o);
  ctx.nodes.push(again);
  await again.proc.waitFor(/role slave/, 20_000);
  faults++;
  await ackedBeyond(acked, acked.length, ACKS_BETWEEN_FAULTS, 'after the Slave restart');
  await l.stop();
  await consistent(ctx.nodes, acked, 'after the Slave restart');
  // Non-trivial in all: the stretch before the first fault and the one after each fault added their share.
  assert.ok(acked.length >= (faults + 1) * ACKS_BETWEEN_FAULTS, `only ${acked.length} announces acknowledged in all`);
  process.stdout.write(`  faults: ${faults} survived, ${acked.length} announces acknowledged, 0 lost\n`);
});

test.run();
