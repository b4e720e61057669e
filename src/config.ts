/** Command-line flags → a frozen Config, or one clear error line. */
import { parseArgs } from 'node:util';
import { isIP } from 'node:net';

export type Config = {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly db: string;
  readonly intervalS: number;
  readonly peerTtlS: number;
  readonly batchMs: number;
  readonly headless: boolean;
};

export const USAGE = `Usage: node dist/main.js --id N [options]

  --id N            this instance's ID (positive integer, unique in the cluster; required)
  --host ADDR       UDP address to bind for peers (default 0.0.0.0)
  --port P          UDP port (default 6969)
  --db PATH         SQLite file (default data/tracker-<id>.sqlite); emptied at shutdown
  --interval S      announce interval told to clients, seconds (default 1800)
  --peer-ttl S      a peer silent this long is dropped, seconds (default 2 × interval)
  --batch-ms MS     longest wait to group announces into one commit (default 2)
  --headless        no terminal UI (automatic when stdout is not a terminal)
  --help            this text
`;

export type ConfigResult = { ok: true; config: Config } | { ok: false; error: string } | { ok: 'help' };

const int = (name: string, raw: string | undefined, def: number, min: number, max: number): number | string => {
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw)) return `--${name} must be an integer, got "${raw}"`;
  const n = Number(raw);
  if (n < min || n > max) return `--${name} must be between ${min} and ${max}, got ${n}`;
  return n;
};

export function parseConfig(argv: readonly string[], isTty: boolean): ConfigResult {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        id: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, db: { type: 'string' },
        interval: { type: 'string' }, 'peer-ttl': { type: 'string' }, 'batch-ms': { type: 'string' },
        headless: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    return { ok: false, error: (e as Error).message.split('\n')[0]! };
  }
  if (values.help) return { ok: 'help' };
  if (values.id === undefined) return { ok: false, error: '--id is required (a positive integer unique in the cluster)' };
  const id = int('id', values.id as string, 0, 1, 2 ** 31 - 1);
  const port = int('port', values.port as string | undefined, 6969, 1, 65535);
  const intervalS = int('interval', values.interval as string | undefined, 1800, 1, 86400);
  const batchMs = int('batch-ms', values['batch-ms'] as string | undefined, 2, 0, 1000);
  for (const v of [id, port, intervalS, batchMs]) if (typeof v === 'string') return { ok: false, error: v };
  const peerTtlS = int('peer-ttl', values['peer-ttl'] as string | undefined, 2 * (intervalS as number), 1, 7 * 86400);
  if (typeof peerTtlS === 'string') return { ok: false, error: peerTtlS };
  const host = (values.host as string | undefined) ?? '0.0.0.0';
  if (isIP(host) === 0) return { ok: false, error: `--host must be an IP address, got "${host}"` };
  const config: Config = Object.freeze({
    id: id as number, host, port: port as number,
    db: (values.db as string | undefined) ?? `data/tracker-${id}.sqlite`,
    intervalS: intervalS as number, peerTtlS, batchMs: batchMs as number,
    headless: Boolean(values.headless) || !isTty,
  });
  return { ok: true, config };
}
