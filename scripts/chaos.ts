/**
 * A randomized fault schedule against a real cluster (`npm run chaos -- --minutes N [--seed S] [--preload P]`):
 * three trackers on a broker pair of their own, clients announcing through the service address, faults drawn from
 * a seed (scripts/chaos/schedule.ts) until N minutes have passed, then the checker. Prints progress, the table of
 * fault → recovery time and the checker's verdicts; exits 1 if a check failed. Ctrl-C stops everything it started.
 *
 *   node dist/scripts/chaos.js [--minutes 5] [--faults N] [--seed S] [--heartbeat 1000] [--loopback]
 *       [--kinds kill-master,stop-broker,…] [--preload P] [--dir DIR] [--keep]
 *
 * `--preload P` fills the formed cluster with P new peers over 1,000 swarms (the C generator scripts/loadgen.c,
 * compiled with gcc into the work folder) before the load and the faults start.
 *
 * With root and iproute2 the trackers run in network namespaces of their own (partitions are then in the
 * catalogue); `--loopback` keeps everything on 127.0.0.1 without partitions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { netnsAvailable } from './chaos/net.js';
import { createChaos } from './chaos/run.js';
import { type FaultKind, KINDS } from './chaos/schedule.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
process.chdir(ROOT); // the trackers are spawned as dist/main.js, the broker through scripts/broker.sh

const { values: argv } = parseArgs({
  options: {
    minutes: { type: 'string' },
    faults: { type: 'string' },
    seed: { type: 'string' },
    heartbeat: { type: 'string', default: '1000' },
    loopback: { type: 'boolean' },
    kinds: { type: 'string' },
    preload: { type: 'string' },
    dir: { type: 'string' },
    keep: { type: 'boolean' },
  },
});

const fail = (msg: string): never => {
  process.stderr.write(`chaos: ${msg}\n`);
  process.exit(2);
};
const num = (s: string | undefined, name: string): number | undefined => {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} must be a positive number, not ${s}`);
  return n;
};
const kinds = argv.kinds?.split(',').map((k) => (KINDS.includes(k as FaultKind) ? (k as FaultKind) : fail(`unknown fault kind ${k}`)));
const faults = num(argv.faults, 'faults');
const preload = num(argv.preload, 'preload');
const minutes = num(argv.minutes, 'minutes') ?? (faults ? undefined : 5);
const seed = argv.seed !== undefined ? Number(argv.seed) >>> 0 : Math.floor(Math.random() * 2 ** 32);
const netns = !argv.loopback && netnsAvailable();
if (!argv.loopback && !netns) process.stderr.write('chaos: not root or no iproute2: loopback topology, no partitions\n');
const dir = argv.dir ?? mkdtempSync(join(os.tmpdir(), 'chaos-'));

const chaos = createChaos({
  seed,
  ...(faults ? { faults } : {}),
  ...(minutes ? { minutes } : {}),
  heartbeatMs: num(argv.heartbeat, 'heartbeat')!,
  netns,
  dir,
  ...(kinds ? { kinds } : {}),
  ...(preload ? { preload: Math.round(preload) } : {}),
  progress: (line) => process.stdout.write(`${line}\n`),
});

let stopping = false;
const finish = async (code: number): Promise<never> => {
  if (!stopping) {
    stopping = true;
    await chaos.cleanup();
    if (!argv.keep && code === 0) rmSync(dir, { recursive: true, force: true });
    else process.stdout.write(`work folder kept: ${dir}\n`);
  }
  process.exit(code);
};
process.on('SIGINT', () => void finish(130));
process.on('SIGTERM', () => void finish(143));
process.on('uncaughtException', (e) => {
  process.stderr.write(`chaos: ${e.stack ?? e.message}\n`);
  void finish(1);
});

try {
  const report = await chaos.run();
  const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
  process.stdout.write(
    `\nchaos run of ${when} UTC, seed ${report.seed}, ${report.net} topology, keepalive ${argv.heartbeat} ms, ` +
      `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}` +
      (report.preload ? `, preloaded ${report.preload.peers} peers in ${report.preload.seconds} s (${report.preload.perSecond}/s)` : '') +
      `\n\n${report.table}\n` +
      `replay: npm run chaos -- ${minutes ? `--minutes ${minutes}` : `--faults ${faults}`} --seed ${report.seed}` +
      `${preload ? ` --preload ${Math.round(preload)}` : ''}${netns ? '' : ' --loopback'}\n`,
  );
  await finish(report.verdicts.every((v) => v.ok) ? 0 : 1);
} catch (e) {
  process.stderr.write(`chaos: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  await finish(1);
}
