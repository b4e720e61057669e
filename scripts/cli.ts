/** What the scripts' command lines share: help from the file's own header comment, numeric flags refused with status 2. */
import { readFileSync } from 'node:fs';

/** Print the leading doc comment of the script at `url` and exit 0. */
export function printHelp(url: URL | string): never {
  const text = readFileSync(url, 'utf8');
  process.stdout.write(
    text
      .split('*/')[0]!
      .replace(/^\/\*\*\n?/, '')
      .replace(/^ \* ?/gm, ''),
  );
  process.exit(0);
}

/** A non-negative number flag, `fallback` when absent; anything else exits with status 2 and one line. */
export const numberFlag =
  (prog: string) =>
  (v: string | undefined, fallback: number, name: string): number => {
    const x = v === undefined ? fallback : Number(v);
    if (!Number.isFinite(x) || x < 0) {
      process.stderr.write(`${prog}: bad --${name}: ${v}\n`);
      process.exit(2);
    }
    return x;
  };

/** On SIGINT, SIGTERM or SIGHUP: say so, run `cleanup`, exit with the signal's conventional status. */
export function stopOnSignals(cleanup: () => Promise<void>, log: (line: string) => void): void {
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(sig, () => {
      log(`${sig}: stopping every process the benchmark started`);
      void cleanup().finally(() => process.exit(code));
    });
  }
}

/**
 * Run a benchmark's `main` under a hard timeout; whatever happens, `cleanup` stops what it started. An error is
 * logged with its stack unless `stopping()` (a signal or the timeout already tore things down).
 */
export async function runBounded(
  main: () => Promise<void>,
  opts: { timeoutS: number; cleanup: () => Promise<void>; stopping: () => boolean; log: (line: string) => void },
): Promise<void> {
  const hard = setTimeout(() => {
    opts.log(`hard timeout of ${opts.timeoutS} s: stopping everything`);
    void opts.cleanup().finally(() => process.exit(1));
  }, opts.timeoutS * 1000);
  try {
    await main();
  } catch (e) {
    // Once stopping, the main flow fails on what was stopped: not worth a stack.
    if (!opts.stopping()) opts.log(`error: ${(e as Error).stack ?? e}`);
    process.exitCode = 1;
  } finally {
    await opts.cleanup();
    clearTimeout(hard);
  }
}
