/**
 * The chaos run's checker and its table (pure: it reads what the run recorded). Rules:
 *   1. every acknowledged announce is in every live repository at rest, the repositories are identical, and
 *      exactly one instance is Master (after a preload: every repository holds the preloaded peers, all of them);
 *   2. no request is answered twice (per client, per transaction ID) and no reply answers nothing we sent;
 *   3. every reply comes from the service address;
 *   4. at most one Master per epoch: no two instances log `role master (epoch N, …)` for the same N, nor take
 *      the service address (`holding the service address`) while their last role line names the same epoch;
 *   5. after each fault an announce sent after it was acknowledged within the fault's bound;
 *   6. after each repair the cluster is whole again (three instances, one Master, two Slaves, announces
 *      acknowledged) within `HEAL_BOUND_MS`: service back right after a fault is not enough if the repair then
 *      leaves the cluster dark (followers of a claimant that never became Master, say).
 */
import type { Fault } from './schedule.js';
import type { LoadRecord } from './load.js';

export type FaultResult = {
  readonly fault: Fault;
  /** Whom it hit, e.g. `tracker 3` or `broker a`. */
  readonly target: string;
  /** Wall clock of the fault (ms). */
  readonly at: number;
  readonly boundMs: number;
  /** From the fault to the first acknowledgement of an announce sent after it; null: none within the wait. */
  readonly recoveryMs: number | null;
  /** From the repair (restart, SIGCONT, link up) to the cluster whole again (three instances, one Master). */
  readonly wholeMs: number | null;
};

export type AtRest = {
  readonly live: number;
  readonly digestsEqual: boolean;
  /** Acknowledged peer IDs missing, per live instance. */
  readonly missing: ReadonlyArray<{ readonly id: number; readonly count: number; readonly sample: string[] }>;
  readonly masters: number;
  /** After `--preload`: the peers the fill ended on, and what each live repository holds in those swarms. */
  readonly preloaded?: { readonly expected: number; readonly held: ReadonlyArray<{ readonly id: number; readonly count: number }> };
};

/** One process's log, with the instance ID it ran as. */
export type ProcLog = { readonly id: number; readonly text: string };

/** Whole again after a repair within this (restart, discovery of 2.5 intervals, a state transfer: about 4 s measured). */
export const HEAL_BOUND_MS = 10_000;

export type Verdict = { readonly rule: string; readonly ok: boolean; readonly detail: string };

export type Epochs = { masters: Map<number, Set<number>>; holders: Map<number, Set<number>> };

/** Who logged itself Master of each epoch, and who took the service address in each epoch. */
export function epochsFromLogs(logs: readonly ProcLog[]): Epochs {
  const masters = new Map<number, Set<number>>();
  const holders = new Map<number, Set<number>>();
  const add = (m: Map<number, Set<number>>, epoch: number, id: number): void => {
    if (!m.has(epoch)) m.set(epoch, new Set());
    m.get(epoch)!.add(id);
  };
  for (const { id, text } of logs) {
    let epoch = -1;
    for (const line of text.split('\n')) {
      const role = /\] role (\w+) \(epoch (\d+)/.exec(line);
      if (role) {
        epoch = Number(role[2]);
        if (role[1] === 'master') add(masters, epoch, id);
      } else if (/\] holding the service address/.test(line)) add(holders, epoch, id);
    }
  }
  return { masters, holders };
}

/** `: kind (target) what; …` for the faults a rule names, or nothing. */
const listed = (fs: readonly FaultResult[], what: (f: FaultResult) => string): string =>
  fs.length ? `: ${fs.map((f) => `${f.fault.kind} (${f.target}) ${what(f)}`).join('; ')}` : '';

export function check(record: LoadRecord, logs: readonly ProcLog[], faults: readonly FaultResult[], rest: AtRest): Verdict[] {
  const out: Verdict[] = [];
  const missing = rest.missing.filter((m) => m.count > 0);
  const pre = rest.preloaded;
  const short = pre ? pre.held.filter((h) => h.count !== pre.expected) : [];
  out.push({
    rule: 'every acknowledged announce in every live repository at rest; identical repositories; one Master',
    ok: missing.length === 0 && rest.digestsEqual && rest.masters === 1 && short.length === 0,
    detail:
      `${record.acks.length} acknowledged, ${rest.live} live repositories, ` +
      `${missing.length ? `missing: ${missing.map((m) => `tracker ${m.id} lacks ${m.count} (e.g. ${m.sample.join(', ')})`).join('; ')}` : '0 missing'}, ` +
      `digests ${rest.digestsEqual ? 'equal' : 'DIFFER'}, ${rest.masters} Master(s)` +
      (pre
        ? `, preloaded ${pre.expected} peers ${short.length ? `but ${short.map((h) => `tracker ${h.id} holds ${h.count}`).join('; ')}` : 'held by every one'}`
        : ''),
  });

  let twice = 0;
  let wrongFrom = 0;
  const examples: string[] = [];
  for (const r of record.requests.values()) {
    if (r.replies.length > 1) {
      twice++;
      if (examples.length < 3)
        examples.push(
          `client ${r.client} tid ${r.tid} (${r.kind}) answered ${r.replies.length}× at +${r.replies.map((x) => x.at - r.sentAt).join('/')} ms`,
        );
    }
    wrongFrom += r.replies.filter((x) => x.from !== record.target).length;
  }
  out.push({
    rule: 'no request answered twice, no reply to a request never sent',
    ok: twice === 0 && record.strays.length === 0,
    detail: `${record.requests.size} requests, ${twice} answered twice${examples.length ? ` (${examples.join('; ')})` : ''}, ${record.strays.length} stray replies`,
  });
  out.push({
    rule: 'every reply from the service address',
    ok: wrongFrom === 0 && record.strays.every((x) => x.from === record.target),
    detail: `${wrongFrom} replies from elsewhere than ${record.target}`,
  });

  const e = epochsFromLogs(logs);
  const dupM = [...e.masters].filter(([, s]) => s.size > 1);
  const dupH = [...e.holders].filter(([, s]) => s.size > 1);
  const fmt = (d: Array<[number, Set<number>]>): string => d.map(([ep, s]) => `epoch ${ep}: ${[...s].join(', ')}`).join('; ');
  out.push({
    rule: 'at most one Master (and one holder of the service address) per epoch',
    ok: dupM.length === 0 && dupH.length === 0,
    detail: `${e.masters.size} epochs with a Master${dupM.length ? `; two Masters in ${fmt(dupM)}` : ''}${dupH.length ? `; two holders in ${fmt(dupH)}` : ''}`,
  });

  const late = faults.filter((f) => f.recoveryMs === null || f.recoveryMs > f.boundMs);
  out.push({
    rule: 'after each fault, an announce sent after it acknowledged within its bound',
    ok: late.length === 0,
    detail: `${faults.length} faults, ${late.length} late${listed(late, (f) => `${f.recoveryMs ?? 'never'} ms > ${f.boundMs}`)}`,
  });
  const unhealed = faults.filter((f) => f.wholeMs === null || f.wholeMs > HEAL_BOUND_MS);
  out.push({
    rule: `after each repair, the cluster whole again within ${HEAL_BOUND_MS / 1000} s`,
    ok: unhealed.length === 0,
    detail: `${faults.length} repairs, ${unhealed.length} slow${listed(unhealed, (f) => `${f.wholeMs ?? 'never'} ms`)}`,
  });
  return out;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : Math.round((s[s.length / 2 - 1]! + s[s.length / 2]!) / 2);
};
const secs = (ms: number | null): string => (ms === null ? 'never' : `${(ms / 1000).toFixed(2)} s`);

/** The table: per fault kind, recovery median and worst against the bound, and the totals. */
export function table(faults: readonly FaultResult[], record: LoadRecord, verdicts: readonly Verdict[], durationMs: number): string {
  const kinds = [...new Set(faults.map((f) => f.fault.kind))];
  const rows = kinds.map((k) => {
    const fs = faults.filter((f) => f.fault.kind === k);
    const rec = fs.map((f) => f.recoveryMs ?? Number.POSITIVE_INFINITY);
    const whole = fs.map((f) => f.wholeMs).filter((x): x is number => x !== null);
    const worst = Math.max(...rec);
    const within = fs.filter((f) => f.recoveryMs !== null && f.recoveryMs <= f.boundMs).length;
    const bounds = [...new Set(fs.map((f) => f.boundMs))];
    const bound = bounds.length === 1 ? secs(bounds[0]!) : `${secs(Math.min(...bounds))}–${secs(Math.max(...bounds))}`;
    return `| ${k} | ${fs.length} | ${secs(median(rec))} | ${secs(Number.isFinite(worst) ? worst : null)} | ${bound} | ${within}/${fs.length} | ${whole.length ? secs(Math.max(...whole)) : '—'} |`;
  });
  const answered = [...record.requests.values()].filter((r) => r.replies.length > 0).length;
  const lines = [
    '| fault | n | recovery median | worst | bound | within | whole again (worst) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `totals: ${faults.length} faults in ${(durationMs / 60_000).toFixed(1)} min; ${record.requests.size} requests sent, ${answered} answered, ` +
      `${record.acks.length} announces acknowledged; ${verdicts.filter((v) => v.ok).length}/${verdicts.length} checks passed`,
    ...verdicts.map((v) => `  ${v.ok ? 'ok  ' : 'FAIL'} ${v.rule}: ${v.detail}`),
  ];
  return lines.join('\n');
}
