/**
 * State transfer on the requesting side. From the sync request on, a round's messages are held back (and the
 * last few seen before it, which may belong to rounds after the Master's cut). Parts arrive in order on this
 * instance's own queue and are installed as they come: a snapshot's swarms straight into the read model and the
 * mirror, a log's rounds applied one by one. Memory is bounded by the sender's window, not by the repository.
 * Once the last part is in, the held rounds are drained a slice at a time (the loop keeps reading keepalives):
 * each committed round after the installed commit is applied as it is; what is left when none is (a PREPARE
 * whose COMMIT has not come) goes to the Consensus actor once this instance is a Slave.
 */
import type { Repository } from '../../actors/repository.js';
import type { ClusterMessage } from '../bus/messages.js';
import { decodePacked, unpackChanges } from '../bus/wire.js';
import type { RoundMessage } from './cluster-inbox.js';
import type { RoundLog } from './round-log.js';
import { unpackRounds } from './round-log.js';

type TransferMessage = Extract<ClusterMessage, { type: 'transfer' }>;

/** Round messages remembered before a transfer starts: they may belong to rounds after the Master's cut. */
const RECENT_ROUNDS = 64;

export type Installed = {
  readonly kind: 'snapshot' | 'log';
  readonly seq: number;
  /** The Master's key when the transfer carried one (a cluster without a secret). */
  readonly key: Buffer | null;
  readonly records: number;
  readonly bytes: number;
};

/** `tail`: the held messages no committed round accounts for yet, for the Consensus actor. */
export type Drained =
  | { readonly rounds: number; readonly done: false }
  | { readonly rounds: number; readonly done: true; readonly tail: RoundMessage[] };

/** `ack`: the next part wanted (acknowledge it once what was installed is stored). */
export type PartResult =
  | { readonly type: 'not-mine' }
  | { readonly type: 'failed'; readonly error: string }
  | { readonly type: 'ack'; readonly next: number; readonly duplicate: boolean }
  | { readonly type: 'installed'; readonly next: number; readonly installed: Installed };

export type Progress = {
  readonly from: number | null;
  readonly total: number;
  readonly transfer: string;
  readonly kind: 'snapshot' | 'log' | null;
  readonly parts: number;
  readonly records: number;
  readonly bytes: number;
};

export type StateSync = {
  /** A sync request went out for `transfer`: hold rounds back from now on and drop any unfinished transfer. */
  begin(transfer: string): void;
  /** True when the message was held back (a transfer is under way); remembered among the recent ones else. */
  hold(m: RoundMessage): boolean;
  part(m: TransferMessage): PartResult;
  /**
   * After `installed` of `transfer`: apply up to `max` held committed rounds; `done` once none is left; `stale` once
   * another transfer began (a new request, e.g. to a new Master), whose own installation drains instead.
   */
  drain(max: number, transfer: string): Drained | 'stale';
  /** The transfer under way, if any. */
  progress(): Progress | null;
};

export function createStateSync(repo: Repository, log: RoundLog): StateSync {
  let held: RoundMessage[] | null = null;
  let recent: RoundMessage[] = [];
  let current: {
    transfer: string;
    from: number | null;
    total: number;
    kind: 'snapshot' | 'log' | null;
    next: number;
    records: number;
    bytes: number;
  } | null = null;

  /** Held messages already looked at by `drain`, and the PREPAREs among them whose outcome is not known yet. */
  let drained = 0;
  let staged = new Map<number, Extract<RoundMessage, { type: 'prepare' }>>();
  /** The transfer whose held rounds are being drained. */
  let draining: string | null = null;

  const finish = (m: TransferMessage, records: number): Installed => {
    const done: Installed = {
      kind: m.kind,
      seq: repo.lastSeq(),
      key: m.key === undefined ? null : Buffer.from(m.key, 'hex'),
      records,
      bytes: current?.bytes ?? 0,
    };
    draining = m.transfer;
    current = null;
    drained = 0;
    staged = new Map();
    return done;
  };

  /** Apply a held COMMIT's round when it is the next one and its PREPARE is here; false when it cannot be. */
  const commit = (c: RoundMessage): boolean => {
    const p = staged.get(c.seq);
    if (!p || p.from !== c.from || p.epoch !== c.epoch || c.seq !== repo.lastSeq() + 1) return false;
    const decoded = decodePacked(p.changes);
    if (!decoded) return false;
    const { changes, packed } = decoded;
    repo.apply(
      c.seq,
      changes.map((change) => ({ change, client: null })),
    );
    log.append(c.seq, c.epoch, packed);
    for (const k of staged.keys()) if (k <= c.seq) staged.delete(k);
    return true;
  };

  const install = (m: TransferMessage, data: Buffer): { ok: true; records: number } | { ok: false; error: string } => {
    if (m.kind === 'snapshot') {
      if (m.part === 0) {
        repo.beginInstall();
        log.reset(m.seq, null);
      }
      const r = repo.installChunk(m.seq, data);
      if (r.ok && m.last) repo.finishInstall(m.seq);
      return r;
    }
    return applyRounds(repo, log, data);
  };

  return {
    begin(transfer) {
      draining = null;
      held = held ?? recent;
      recent = [];
      current = { transfer, from: null, total: 0, kind: null, next: 0, records: 0, bytes: 0 };
    },
    hold(m) {
      if (held) {
        held.push(m);
        return true;
      }
      recent.push(m);
      if (recent.length > RECENT_ROUNDS) recent = recent.slice(-RECENT_ROUNDS / 2);
      return false;
    },
    part(m) {
      if (!current || m.transfer !== current.transfer) return { type: 'not-mine' };
      if (m.part !== current.next || (current.kind !== null && m.kind !== current.kind)) {
        return { type: 'ack', next: current.next, duplicate: true };
      }
      const data = Buffer.from(m.data, 'base64');
      const r = install(m, data);
      if (!r.ok) {
        current = null;
        held = null;
        return { type: 'failed', error: r.error };
      }
      current.kind = m.kind;
      current.from = m.from;
      current.total = m.total;
      current.next++;
      current.records += r.records;
      current.bytes += data.length;
      if (!m.last) return { type: 'ack', next: current.next, duplicate: false };
      const next = current.next;
      return { type: 'installed', next, installed: finish(m, current.records) };
    },
    drain(max, transfer) {
      if (transfer !== draining) return 'stale';
      const list = held ?? [];
      let rounds = 0;
      while (drained < list.length && rounds < max) {
        const m = list[drained]!;
        if (m.seq > repo.lastSeq()) {
          if (m.type === 'prepare') staged.set(m.seq, m);
          else if (m.type === 'abort') staged.delete(m.seq);
          else if (commit(m)) rounds++;
          // A COMMIT without its round here: the Consensus actor sees the gap and asks for the rounds missed.
          else break;
        }
        drained++;
      }
      if (drained < list.length && rounds >= max) return { rounds, done: false };
      const tail = [...[...staged.values()].sort((a, b) => a.seq - b.seq), ...list.slice(drained)];
      held = null;
      draining = null;
      staged = new Map();
      return { rounds, done: true, tail };
    },
    progress: () => (current ? { ...current, parts: current.next } : null),
  };
}

/** A log part: each round after our last, applied as committed (they are: the Master logs only those). */
function applyRounds(repo: Repository, log: RoundLog, data: Buffer): { ok: true; records: number } | { ok: false; error: string } {
  const rounds = unpackRounds(data);
  if (!rounds) return { ok: false, error: 'a log part that does not decode' };
  let records = 0;
  for (const r of rounds) {
    if (r.seq <= repo.lastSeq()) continue;
    if (r.seq !== repo.lastSeq() + 1) return { ok: false, error: `round ${r.seq} does not follow ${repo.lastSeq()}` };
    const changes = unpackChanges(r.changes);
    if (!changes) return { ok: false, error: `round ${r.seq} does not decode` };
    repo.apply(
      r.seq,
      changes.map((change) => ({ change, client: null })),
    );
    log.append(r.seq, r.epoch, r.changes); // copied by the log
    records += changes.length;
  }
  return { ok: true, records };
}
