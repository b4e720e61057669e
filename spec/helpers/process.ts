/** Spawning the real binary in tests: wait for a log line, collect output, stop it, always clean up. */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

export type Proc = {
  readonly child: ChildProcess;
  stderr(): string;
  stdout(): string;
  /** Resolve when stderr matches `re` (or reject after `ms`). */
  waitFor(re: RegExp, ms?: number): Promise<void>;
  /** Resolve with the exit code (signal name if killed). */
  exited(): Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
};

/** `prefix` runs the tracker through another command that execs it, e.g. `ip netns exec NS` (same pid: signals reach the tracker). */
export function run(args: readonly string[], env: NodeJS.ProcessEnv = {}, prefix: readonly string[] = []): Proc {
  const cmd = [...prefix, process.execPath, 'dist/main.js', ...args];
  const child = spawn(cmd[0]!, cmd.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  const waiters: Array<() => void> = [];
  // TEST_LOG_DIR keeps every process's log for a post-mortem of a failed run (CI prints only the assertion).
  const logFile = process.env.TEST_LOG_DIR
    ? join(process.env.TEST_LOG_DIR, `${args.join(' ').match(/--id (\d+)/)?.[1] ?? 'x'}-${child.pid}.log`)
    : null;
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (logFile) appendFileSync(logFile, d);
    for (const w of [...waiters]) w();
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  return {
    child,
    stderr: () => err,
    stdout: () => out,
    waitFor(re, ms = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${err}`)), ms);
        const check = (): void => {
          if (re.test(err)) {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(check), 1);
            resolve();
          }
        };
        waiters.push(check);
        check();
        void exit.then(() => {
          if (!re.test(err)) {
            clearTimeout(timer);
            reject(new Error(`process exited before ${re}:\n${err}`));
          }
        });
      });
    },
    exited: () => exit,
    kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** A UDP port that was free a moment ago on 127.0.0.1. */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
