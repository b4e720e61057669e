/**
 * Instances joining a loaded Master: a lone Master (`--cluster-size 0`) holding about 200,000 peers, a client
 * announcing all along through the service address, then two instances started at once on the same broker
 * topic. They must be Slaves of that Master (its epoch) within 20 s, nobody may hold an election (no `role electing` / `role isolated`, no
 * other epoch), no second of the join may pass without an acknowledged announce, and every acknowledged
 * announce must be in every SQLite file (checked while the trackers run: shutdown empties them). The peers come
 * from the C generator (scripts/loadgen.c, compiled here when gcc exists) or scripts/load.ts's fill.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Acker,
  compileLoadgen,
  electionLines,
  fillTo,
  gaps,
  linesSince,
  type LoadgenRun,
  metric,
  metricsPortIn,
  missingAfterSettling,
  newEpochs,
  scrape,
  slaveOf,
  startAcker,
} from '../../scripts/join-load.js';
import { brokerUrl, killAll, logsOnFailure, newTopic, type Node, SERVING, startNode } from '../helpers/cluster.js';
import { freeUdpPort } from '../helpers/process.js';
import { tempDir } from '../helpers/temp.js';

const PEERS = 200_000;
const SWARMS = 1000;
const HEARTBEAT_MS = 1000;
const SLAVE_WITHIN_MS = 20_000;
/** The client keeps announcing this long after the last joiner became Slave (part of the join window). */
const AFTER_MS = 3000;

type Ctx = { nodes: Node[]; dir: ReturnType<typeof tempDir>; loadgen: string | null; acker: Acker | null; runs: LoadgenRun[] };
const test = suite<Ctx>('join', { nodes: [], dir: tempDir('join'), loadgen: null, acker: null, runs: [] });

test.before((ctx) => {
  let root = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(root, 'scripts', 'loadgen.c')) && dirname(root) !== root) root = dirname(root);
  const bin = join(ctx.dir.path, 'loadgen');
  // Without gcc (or the source) the Node fill of scripts/load.ts loads the Master instead.
  ctx.loadgen = compileLoadgen(join(root, 'scripts', 'loadgen.c'), bin) ? bin : null;
});
test.after(async (ctx) => {
  await Promise.all(ctx.runs.map((r) => r.stop()));
  await ctx.acker?.stop();
  await killAll(ctx.nodes);
  ctx.dir.remove();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test(`two instances join a Master holding ${PEERS.toLocaleString('en-US')} peers under load: Slaves within ${SLAVE_WITHIN_MS / 1000} s, no election, no silent second, nothing acknowledged lost`, async (ctx) => {
  const port = await freeUdpPort();
  const o = { brokerUrl: brokerUrl(), port, dir: ctx.dir.path, topic: newTopic(), heartbeatMs: HEARTBEAT_MS };
  const flags = ['--cluster-size', '0', '--interval', '1800', '--peer-ttl', '3600', '--metrics-port', '0'];
  const master = startNode(1, o, flags);
  ctx.nodes.push(master);
  await logsOnFailure(ctx.nodes, async () => {
    await master.proc.waitFor(SERVING, 20_000);
    const epoch = Number(/role master \(epoch (\d+)/.exec(master.proc.stderr())?.[1]);
    const metrics = metricsPortIn(master.proc.stderr());
    if (metrics === null) throw new Error('the Master logged no metrics port');
    const fill = await fillTo({
      port,
      target: PEERS,
      swarms: SWARMS,
      held: async () => metric(await scrape(metrics), 'tracker_peers') ?? 0,
      loadgen: ctx.loadgen,
      deadline: Date.now() + 60_000,
      onRun: (r) => ctx.runs.push(r),
    });
    ctx.acker = await startAcker('127.0.0.1', port);
    await sleep(1000);

    const t0 = Date.now();
    const joiners = [startNode(2, o, flags), startNode(3, o, flags)];
    ctx.nodes.push(...joiners);
    const toSlave = await Promise.all(
      joiners.map((j) =>
        j.proc.waitFor(slaveOf(1, epoch), SLAVE_WITHIN_MS).then(
          () => Date.now() - t0,
          () => null,
        ),
      ),
    );
    await sleep(AFTER_MS);
    const t1 = Date.now();
    await ctx.acker.stop();
    const acks = ctx.acker.acks;
    ctx.acker = null;
    const g = gaps(
      acks.map((a) => a.at),
      t0,
      t1,
    );
    // From the joiners' start: the lone Master's own election at its start is not one.
    const logs = ctx.nodes.map((n) => linesSince(n.proc.stderr(), t0));
    const epochs = newEpochs(logs, epoch);
    const elections = ctx.nodes.flatMap((n, i) => electionLines(logs[i]!, epoch).map((l) => `instance ${n.id}: ${l}`));
    const missing = await missingAfterSettling(
      ctx.nodes.map((n) => n.db),
      acks,
      10_000,
    );
    process.stdout.write(
      `  join: ${fill.held} peers held (filled at ${fill.perSecond}/s with ${ctx.loadgen ? 'loadgen' : 'the Node fill'}); ` +
        `Slave after ${toSlave.map((ms) => (ms === null ? 'never' : `${(ms / 1000).toFixed(1)} s`)).join(' / ')}; ` +
        `${epochs.length} new epochs, ${elections.length} election lines; ${acks.length} acknowledged in ${((t1 - t0) / 1000).toFixed(1)} s, ` +
        `longest gap ${g.longestGapMs} ms, ${g.silentSeconds} silent seconds; missing per instance ${missing.join(' / ')}\n`,
    );
    const problems = [
      ...toSlave.flatMap((ms, i) =>
        ms === null ? [`instance ${joiners[i]!.id} not a Slave of instance 1 within ${SLAVE_WITHIN_MS / 1000} s`] : [],
      ),
      ...elections,
      ...(g.silentSeconds > 0
        ? [`${g.silentSeconds} of ${g.seconds} seconds without an acknowledged announce (longest gap ${g.longestGapMs} ms)`]
        : []),
      ...ctx.nodes.flatMap((n, i) =>
        missing[i]! > 0 ? [`instance ${n.id} misses ${missing[i]} of ${acks.length} acknowledged announces`] : [],
      ),
    ];
    assert.ok(acks.length > 0, 'announces were acknowledged during the join');
    assert.equal(problems, [], 'the join under load');
  });
});

test.run();
