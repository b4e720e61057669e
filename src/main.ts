/** Process entry: flags, the real clock and key, signals, and either the terminal UI or plain logs. */
import { appendFileSync, mkdirSync, readFileSync, watchFile } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { asyncScheduler, BehaviorSubject } from 'rxjs';
import { turnScheduler } from '../streams/turn-scheduler.js';
import { parseConfig, USAGE } from './config/index.js';
import { createHost } from './node/host.js';
import { parseHashList, type HashList, type HashPolicy } from './policy/hash-list.js';

const parsed = parseConfig(process.argv.slice(2), Boolean(process.stdout.isTTY && process.stdin.isTTY));
if (parsed.ok === 'help') {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (!parsed.ok) {
  process.stderr.write(`error: ${parsed.error} (see --help)\n`);
  process.exit(2);
}
const config = parsed.config;

// Headless: log lines on stderr. With the UI: the last lines are shown in the Config tab and kept in a file.
const recent = new BehaviorSubject<readonly string[]>([]);
const logFile = config.headless ? null : join(dirname(config.storage.db), `tracker-${config.id}.log`);
if (logFile) mkdirSync(dirname(logFile), { recursive: true });
const log = (line: string): void => {
  const text = `${new Date().toISOString()} [tracker ${config.id}] ${line}`;
  if (!logFile) {
    process.stderr.write(`${text}\n`);
    return;
  }
  appendFileSync(logFile, `${text}\n`);
  recent.next([...recent.value.slice(-7), text.slice(11)]);
};

// Secrets come from files or the environment, never from the command line (visible to every local user).
type Secrets = { secret?: Buffer; brokerLogin?: { login: string; passcode: string }; brokerCa?: Buffer };
const readSecrets = (): Secrets | string => {
  const out: Secrets = {};
  try {
    const secret = config.cluster.secretFile ? readFileSync(config.cluster.secretFile, 'utf8').trim() : process.env.TRACKER_CLUSTER_SECRET;
    if (secret !== undefined) {
      if (secret.length < 16) return 'the cluster secret must be at least 16 characters';
      out.secret = Buffer.from(secret, 'utf8');
    }
    if (config.cluster.brokerCredentials) {
      const [login, passcode] = readFileSync(config.cluster.brokerCredentials, 'utf8').split(/\r?\n/);
      if (!login || passcode === undefined) return `${config.cluster.brokerCredentials} must hold the login and the passcode on two lines`;
      out.brokerLogin = { login, passcode };
    } else if (process.env.TRACKER_BROKER_LOGIN !== undefined) {
      out.brokerLogin = { login: process.env.TRACKER_BROKER_LOGIN, passcode: process.env.TRACKER_BROKER_PASSCODE ?? '' };
    }
    if (config.cluster.brokerCa) out.brokerCa = readFileSync(config.cluster.brokerCa);
  } catch (e) {
    return `cannot read a secret: ${(e as Error).message}`;
  }
  return out;
};
const secrets = readSecrets();
if (typeof secrets === 'string') {
  process.stderr.write(`error: ${secrets}\n`);
  process.exit(2);
}

// Info-hash lists: loaded now (a bad file refuses to start), reloaded on SIGHUP and when a file changes;
// a bad file at reload is reported and the previous list stays in force.
const loadList = (path: string | undefined): HashList | null | string => {
  if (!path) return null;
  try {
    const r = parseHashList(readFileSync(path, 'utf8'));
    return r.ok ? r.list : `${path}: ${r.error}`;
  } catch (e) {
    return `cannot read ${path}: ${(e as Error).message}`;
  }
};
let hashPolicy: HashPolicy = { allow: null, deny: null };
const reloadLists = (): string | null => {
  const allow = loadList(config.policy.allowList);
  const deny = loadList(config.policy.denyList);
  if (typeof allow === 'string') return allow;
  if (typeof deny === 'string') return deny;
  hashPolicy = { allow, deny };
  return null;
};
const listError = reloadLists();
if (listError) {
  process.stderr.write(`error: ${listError}\n`);
  process.exit(2);
}
const reloadAndLog = (why: string): void => {
  const err = reloadLists();
  log(
    err
      ? `${why}: info-hash lists not reloaded: ${err}`
      : `${why}: info-hash lists reloaded (allow ${hashPolicy.allow?.size ?? 'all'}, deny ${hashPolicy.deny?.size ?? 0})`,
  );
};
process.on('SIGHUP', () => reloadAndLog('SIGHUP'));
for (const f of [config.policy.allowList, config.policy.denyList])
  if (f) watchFile(f, { interval: 2000 }, () => reloadAndLog(`${f} changed`)).unref();

let exiting = false;
let unmountUi: (() => void) | null = null;
const host = createHost(config, {
  scheduler: asyncScheduler,
  clock: asyncScheduler,
  turn: turnScheduler(asyncScheduler, (fn) => {
    const h = setImmediate(fn);
    return () => clearImmediate(h);
  }),
  key: randomBytes(32),
  log,
  ...secrets,
  hashes: () => hashPolicy,
  onFatal: (code, reason) => shutdown(reason, code),
});

function shutdown(why: string, code: number): void {
  if (exiting) return;
  exiting = true;
  log(`${why}: shutting down, emptying the repository`);
  host.command({ type: 'quit' }).then(
    () => {
      unmountUi?.();
      log('stopped');
      if (logFile && code !== 0) process.stderr.write(`error: ${why}\n`);
      process.exit(code);
    },
    (e: unknown) => {
      process.stderr.write(`error during shutdown: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
process.once('SIGINT', () => shutdown('SIGINT', 0));
process.once('SIGTERM', () => shutdown('SIGTERM', 0));

log(`starting (db ${config.storage.db})`);
await host.command({ type: 'start' });
const tracker = host.current();
if (!tracker) {
  // startTracker already logged why; say it on stderr too when the log goes to a file.
  if (logFile) process.stderr.write(`error: could not start: ${recent.value.at(-1) ?? 'see the log'}\n`);
  process.exit(1);
}
if (config.cluster.broker) {
  const { group, port, iface, host: service } = config.network;
  log(`cluster via ${config.cluster.broker}: group udp://${group}:${port} on ${iface}, service address udp://${service}:${port}`);
} else {
  log(`listening on udp://${tracker.address}:${tracker.port} (master, single instance)`);
}

if (!config.headless) {
  // Ink draws only the final frame when CI or CONTINUOUS_INTEGRATION is set (it expects a log there). We get here
  // only with a terminal on stdin and stdout, so someone is watching: keep the live UI.
  for (const key of ['CI', 'CONTINUOUS_INTEGRATION']) if (key in process.env) process.env[key] = 'false';
  // React picks its build when first loaded: unless told otherwise, the production one (the development build
  // checks every render and took most of the UI's CPU in a profile).
  process.env.NODE_ENV ??= 'production';
  const { startUi } = await import('./ui/start.js');
  unmountUi = startUi(config, host, recent, () => shutdown('quit from the terminal UI', 0));
}
