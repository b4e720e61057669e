/**
 * The short randomized fault schedule (issue 11, item 5): one seeded run of 9 faults (every kind of the
 * catalogue once, in a seeded order: SIGKILL and SIGSTOP/SIGCONT of the Master and of a Slave, SIGKILL and
 * SIGSTOP of the serving broker, the Master's and a Slave's namespace cut off, a Slave killed and restarted empty
 * so it joins by state transfer) against three trackers at a 1 s keepalive on a broker pair of the test's own,
 * the cluster first filled with 50,000 peers, while clients announce through the service address. The checker
 * must find every acknowledged announce in every live repository at rest, no request answered twice, at most one
 * Master per epoch, and service back within each fault's bound. Without root (no namespaces) it runs on
 * loopback without the two partitions. The same run at length: `npm run chaos -- --minutes N --seed S`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { netnsAvailable } from '../../scripts/chaos/net.js';
import { createChaos } from '../../scripts/chaos/run.js';
import { tempDir } from '../helpers/temp.js';

const SEED = 11;
const test = suite('chaos');

test(`a seeded schedule of 9 faults under load on a preloaded cluster (seed ${SEED}): the checker finds nothing`, async () => {
  const dir = tempDir('chaos');
  const netns = netnsAvailable();
  const chaos = createChaos({
    seed: SEED,
    faults: netns ? 9 : 7,
    preload: 50_000,
    heartbeatMs: 1000,
    netns,
    dir: dir.path,
    progress: (line) => process.stdout.write(`  ${line}\n`),
  });
  let passed = false;
  try {
    const r = await chaos.run();
    process.stdout.write(`\n${r.table}\n`);
    assert.is(r.faults.length, netns ? 9 : 7, 'every fault of the schedule applied');
    assert.ok(r.record.acks.length >= 500, `only ${r.record.acks.length} announces acknowledged`);
    for (const v of r.verdicts)
      assert.ok(v.ok, `${v.rule}: ${v.detail} (replay: npm run chaos -- --faults 9 --preload 50000 --seed ${SEED})`);
    passed = true;
  } finally {
    await chaos.cleanup();
    // A failed run keeps its folder: every tracker's log is in logs/ there.
    if (passed) dir.remove();
    else process.stdout.write(`  chaos: work folder kept: ${dir.path}\n`);
  }
});

test.run();
