/** Process entry: flags, the real clock and key, signals. Everything else is wired in tracker.ts. */
import { randomBytes } from 'node:crypto';
import { asyncScheduler } from 'rxjs';
import { parseConfig, USAGE } from './config.js';
import { startTracker } from './tracker.js';

const parsed = parseConfig(process.argv.slice(2), Boolean(process.stdout.isTTY));
if (parsed.ok === 'help') {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (!parsed.ok) {
  process.stderr.write(`error: ${parsed.error} (see --help)\n`);
  process.exit(2);
}
const config = parsed.config;
const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} [tracker ${config.id}] ${line}\n`);
};

log(`starting (db ${config.db})`);
const started = await startTracker(config, { scheduler: asyncScheduler, clock: asyncScheduler, key: randomBytes(32), log });
if (!started.ok) {
  log(`error: ${started.error}`);
  process.exit(1);
}
const tracker = started.tracker;
if (config.broker) {
  log(`cluster via ${config.broker}: group udp://${config.group}:${config.port} on ${config.iface}, service address udp://${config.host}:${config.port}`);
} else {
  log(`listening on udp://${tracker.address}:${tracker.port} (master, single instance)`);
}

let exiting = false;
const shutdown = (why: string, code: number): void => {
  if (exiting) return;
  exiting = true;
  log(`${why}: shutting down, emptying the repository`);
  tracker.stop().then(
    () => {
      log('stopped');
      process.exit(code);
    },
    (e: unknown) => {
      log(`error during shutdown: ${(e as Error).message}`);
      process.exit(1);
    },
  );
};
process.once('SIGINT', () => shutdown('SIGINT', 0));
process.once('SIGTERM', () => shutdown('SIGTERM', 0));
void tracker.fatal.then((f) => shutdown(f.reason, f.code));
