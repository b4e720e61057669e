/**
 * Runs every compiled spec file in its own process (a crash or a leaked handle in one suite cannot take the
 * others down or hang the run), with a time limit per file, and ends with the totals line
 * `N passed, N failed`. A file that dies without a uvu summary counts as one failure. When scripts/test.sh
 * has run the linter it passes the outcome in LINT_EXIT (and LINT_MS); the lint is then one more test.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { stripVTControlCharacters } from 'node:util';

const root = process.argv[2] ?? 'dist/spec';
const only = process.argv[3] ? new RegExp(process.argv[3]) : null;
const LIMIT_MS = Number(process.env.SPEC_TIMEOUT_MS ?? 600_000);

function specFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return specFiles(path);
      return name.endsWith('.spec.js') ? [path] : [];
    });
}

type Result = { name: string; passed: number; failed: number; skipped: number; ms: number };

function runFile(file: string): Promise<Result> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    const collect = (d: Buffer): void => {
      out += d.toString();
      process.stdout.write(d);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      process.stdout.write(`\n${file}: still running after ${LIMIT_MS} ms; killed\n`);
      child.kill('SIGKILL');
    }, LIMIT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const num = (label: string): number | null => {
        const m = new RegExp(`${label}:\\s+(\\d+)`).exec(stripVTControlCharacters(out));
        return m ? Number(m[1]) : null;
      };
      const total = num('Total');
      const passed = num('Passed') ?? 0;
      const skipped = num('Skipped') ?? 0;
      // uvu's Total already leaves skipped tests out.
      let failed = total === null ? 1 : total - passed;
      // A suite that ran nothing, or exited non-zero with everything "passed", hides a failure somewhere.
      if (total === 0 || (code !== 0 && failed === 0)) failed = Math.max(failed, 1);
      resolve({ name: relative(root, file), passed, failed, skipped, ms: Date.now() - started });
    });
  });
}

const files = specFiles(root).filter((f) => !only || only.test(relative(root, f)));
const results: Result[] = [];
const lintExit = process.env.LINT_EXIT;
if (lintExit !== undefined) {
  const ok = lintExit === '0';
  results.push({ name: 'lint', passed: ok ? 1 : 0, failed: ok ? 0 : 1, skipped: 0, ms: Number(process.env.LINT_MS ?? 0) });
}
for (const f of files) results.push(await runFile(f));

process.stdout.write('\n');
for (const r of results) {
  process.stdout.write(
    `${r.failed > 0 ? 'FAIL' : 'ok  '} ${r.name.padEnd(40)} ${r.passed} passed, ${r.failed} failed (${(r.ms / 1000).toFixed(1)} s)\n`,
  );
}
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
