/** The --help text, generated from the option table (each default worded the way the table states it). */
import { OPTIONS, type FlagSpec } from './options.js';

const INDENT = 20;
const WIDTH = 112;

/** How the default of a flag reads in the help, or null when it has none worth stating. */
export function defaultText(spec: FlagSpec): string | null {
  if (spec.fallback !== undefined) return `default ${spec.fallback}${spec.note ?? ''}`;
  if (spec.derived !== undefined) return `default ${spec.derived}`;
  return null;
}

/** Words after `first`, wrapped at WIDTH, continuation lines indented under the first word. */
const wrap = (words: readonly string[], first: string): string[] => {
  const lines: string[] = [];
  let line = first;
  let fresh = true;
  for (const word of words) {
    if (!fresh && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = ' '.repeat(INDENT);
      fresh = true;
    }
    line += fresh ? word : ` ${word}`;
    fresh = false;
  }
  lines.push(line);
  return lines;
};

function flagLines(name: string, spec: FlagSpec): string[] {
  const head = `  --${name}${spec.arg ? ` ${spec.arg}` : ''}`;
  const first = head.length < INDENT ? head.padEnd(INDENT) : `${head}  `;
  const def = defaultText(spec);
  const text = def === null ? spec.text : `${spec.text} (${def})`;
  return wrap(text.split(' '), first);
}

export const USAGE = [
  'Usage: node dist/main.js --id N [options]',
  '',
  ...Object.entries<FlagSpec>(OPTIONS).flatMap(([name, spec]) => flagLines(name, spec)),
  '',
].join('\n');
