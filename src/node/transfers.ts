/**
 * State transfers as the instance runs them: asking for one (a joiner, or a Slave with a gap), serving one (the
 * Master: the rounds after the requester's last from the round log when it holds them, else a snapshot walked
 * from the live store), taking each part as it comes, and keeping the round log as rounds are applied.
 */
import { randomBytes } from 'node:crypto';
import type { ClusterMessage } from '../bus/messages.js';
import { countPeers } from '../domain/swarm.js';
import type { ConnectionIdKey } from '../protocol/connection-id.js';
import type { RoundMessage } from './cluster-inbox.js';
import type { Ctx } from './handlers.js';
import { type LoggedRound, packRounds } from './round-log.js';
import { publish } from './publish.js';
import type { Installed } from './state-sync.js';
import type { Part, PartSource, SentPart, TransferOutcome } from './transfer-sender.js';

type Of<T extends ClusterMessage['type']> = Extract<ClusterMessage, { type: T }>;

/** Bytes of records per part (before base64): a few ms of work for either side, a small broker message. */
export const PART_BYTES = 256 * 1024;
/** A part nobody takes (its receiver died) leaves the broker after this long. */
const PART_EXPIRES_MS = 60_000;

/** Ask `to` for its state: hold rounds back from now on; `tip` lets it answer from its log. */
export function requestSync(to: number, epoch: number, ctx: Ctx): void {
  const transfer = randomBytes(8).toString('hex');
  ctx.sync.begin(transfer);
  const applied = ctx.repo.lastSeq();
  const tip = ctx.roundLog.epochAt(applied);
  ctx.log(`state transfer requested from instance ${to} (our last commit ${applied})`);
  publish(ctx, { type: 'sync-request', from: ctx.cfg.id, epoch, applied, transfer, ...(tip === null ? {} : { tip }) });
}

/** Master: the rounds the requester missed when the log holds them all, else a snapshot. */
export function serveSync(m: Of<'sync-request'>, ctx: Ctx): void {
  const { role } = ctx.role$.value;
  if (role !== 'master') return;
  const rounds = ctx.roundLog.since(m.applied, m.tip);
  const base = { to: m.from, transfer: m.transfer };
  if (rounds) {
    ctx.log(`catch-up of instance ${m.from} from the log: ${rounds.length} rounds after commit ${m.applied}`);
    ctx.senders.start({ ...base, kind: 'log', seq: m.applied, total: rounds.length, source: logSource(rounds) });
    return;
  }
  const seq = ctx.repo.lastSeq();
  const total = countPeers(ctx.repo.store);
  ctx.log(`state transfer to instance ${m.from}: snapshot from commit ${seq} (${total} peers, ${ctx.repo.store.swarms.size} swarms)`);
  ctx.senders.start({ ...base, kind: 'snapshot', seq, total, source: snapshotSource(ctx) });
}

function snapshotSource(ctx: Ctx): PartSource {
  const generation = ctx.repo.generation();
  const cursor = ctx.repo.cursor();
  return {
    next: (): Part | null => {
      if (ctx.repo.generation() !== generation) return null;
      const c = cursor.next(PART_BYTES);
      return { data: c.data, records: c.records, last: c.done };
    },
  };
}

function logSource(rounds: readonly LoggedRound[]): PartSource {
  let at = 0;
  return {
    next: (): Part => {
      const part: LoggedRound[] = [];
      let bytes = 0;
      while (at < rounds.length && (part.length === 0 || bytes + rounds[at]!.changes.length <= PART_BYTES)) {
        bytes += rounds[at]!.changes.length;
        part.push(rounds[at++]!);
      }
      return { data: packRounds(part), records: part.length, last: at >= rounds.length };
    },
  };
}

/** Hand one part to the requester's queue (signed like everything else; the key only without a secret). */
export function sendPart(p: SentPart, ctx: Ctx): boolean {
  if (ctx.state.cut) return false;
  const key = partKey(p.last, ctx.state.key, ctx.signer.authenticated);
  const m: ClusterMessage = {
    type: 'transfer',
    from: ctx.cfg.id,
    epoch: ctx.role$.value.epoch,
    to: p.to,
    transfer: p.transfer,
    kind: p.kind,
    seq: p.seq,
    total: p.total,
    part: p.part,
    last: p.last,
    ...(key ? { key } : {}),
    data: p.data.toString('base64'),
  };
  return ctx.transport.bulk.send(p.to, ctx.signer.sign(m), ctx.deps.clock.now() + PART_EXPIRES_MS);
}

/**
 * The connection-ID key a part carries: only the last part, and only in a cluster without a secret (with one, every
 * instance derives the keys itself and nothing secret crosses the broker).
 */
export function partKey(last: boolean, key: ConnectionIdKey, authenticated: boolean): string | undefined {
  return last && Buffer.isBuffer(key) && !authenticated ? key.toString('hex') : undefined;
}

export function transferEnded(o: TransferOutcome, ctx: Ctx): void {
  const { transfer } = ctx.metrics;
  transfer.transfers.inc({ direction: 'sent', kind: o.kind, outcome: o.outcome });
  transfer.records.inc({ direction: 'sent', kind: o.kind }, o.records);
  transfer.bytes.inc({ direction: 'sent', kind: o.kind }, o.bytes);
  if (o.outcome === 'done') transfer.seconds.observe({ direction: 'sent', kind: o.kind }, o.ms / 1000);
  ctx.log(
    `state transfer to instance ${o.to} ${o.outcome}: ${o.kind}, ${o.records} records, ${o.parts} parts, ${o.bytes} bytes in ${(o.ms / 1000).toFixed(2)} s`,
  );
}

/** The requester's side: install a part, acknowledge it once stored, and finish the transfer with its last. */
export function receivePart(m: Of<'transfer'>, ctx: Ctx, toConsensus: (r: RoundMessage) => void): void {
  const r = ctx.sync.part(m);
  const ack = (next: number): void =>
    publish(ctx, { type: 'sync-ack', from: ctx.cfg.id, epoch: ctx.role$.value.epoch, to: m.from, transfer: m.transfer, next });
  switch (r.type) {
    case 'not-mine':
      return;
    case 'failed':
      ctx.metrics.transfer.transfers.inc({ direction: 'received', kind: m.kind, outcome: 'failed' });
      ctx.log(`state transfer from instance ${m.from} failed: ${r.error}; asking again`);
      ctx.control.to.election({ type: 'sync-failed' });
      return;
    case 'ack':
      if (r.duplicate) {
        ack(r.next);
        return;
      }
      ctx.control.to.election({ type: 'sync-progress' });
      acknowledgeStored(r.next, ctx, ack);
      return;
    case 'installed':
      acknowledgeStored(r.next, ctx, ack);
      installed(r.installed, m, ctx, toConsensus);
      return;
  }
}

/** Parts the mirror may trail the read model by before acknowledgements wait for it: memory stays bounded. */
const MIRROR_BACKLOG = 48;

/** Acknowledged at once while the mirror keeps up, else once it has stored this part. */
function acknowledgeStored(next: number, ctx: Ctx, ack: (next: number) => void): void {
  const { state } = ctx;
  const now = state.mirrorBacklog < MIRROR_BACKLOG;
  state.mirrorBacklog++;
  if (now) ack(next);
  void ctx.sqlite.flush().then(() => {
    state.mirrorBacklog--;
    if (!now) ack(next);
  });
}

/** Held committed rounds applied per event-loop turn while a transfer's installation finishes. */
const DRAIN_ROUNDS = 256;

function installed(done: Installed, m: Of<'transfer'>, ctx: Ctx, toConsensus: (r: RoundMessage) => void): void {
  const { transfer } = ctx.metrics;
  transfer.transfers.inc({ direction: 'received', kind: done.kind, outcome: 'done' });
  transfer.records.inc({ direction: 'received', kind: done.kind }, done.records);
  transfer.bytes.inc({ direction: 'received', kind: done.kind }, done.bytes);
  if (done.key && !ctx.signer.authenticated) {
    ctx.state.key = done.key;
    ctx.idCache.clear();
  }
  ctx.log(
    `state transfer complete: ${done.records} records at commit ${done.seq} (${done.kind} from instance ${m.from}, ${done.bytes} bytes)`,
  );
  let rounds = 0;
  const slice = (): void => {
    if (ctx.state.stopping || ctx.role$.value.role !== 'syncing') return;
    const d = ctx.sync.drain(DRAIN_ROUNDS, m.transfer);
    if (d === 'stale') return; // a newer transfer took over
    rounds += d.rounds;
    if (!d.done) {
      ctx.control.to.election({ type: 'sync-progress' });
      ctx.deps.scheduler.schedule(slice);
      return;
    }
    synced(ctx, rounds);
    for (const b of d.tail) toConsensus(b);
  };
  slice();
}

/** Installed and caught up with the rounds held meanwhile: a Slave from now on, voting from its next PREPARE. */
function synced(ctx: Ctx, rounds: number): void {
  const seq = ctx.repo.lastSeq();
  ctx.state.applied = seq;
  ctx.control.to.election({ type: 'progress', applied: seq });
  ctx.state.synced = true;
  ctx.consensus.next({ type: 'applied', seq });
  ctx.consensus.next({ type: 'health', ok: ctx.repo.healthy() && !ctx.state.mirrorFailing });
  ctx.log(`in step at commit ${seq} (${rounds} rounds applied after the transfer)`);
  ctx.control.to.election({ type: 'synced' });
}

/** Every instance of a cluster: a round prepared by the Master it follows (or by itself), logged once applied. */
export function notePrepared(seq: number, epoch: number, changes: Buffer, ctx: Ctx): void {
  if (ctx.clustered) ctx.pendingRounds.set(seq, { epoch, changes });
}

/** A round stored: into the log (a gap in what was prepared starts the log over from it). */
export function noteApplied(seq: number, ctx: Ctx): void {
  if (!ctx.clustered) return;
  const p = ctx.pendingRounds.get(seq);
  if (p) ctx.roundLog.append(seq, p.epoch, p.changes);
  else ctx.roundLog.reset(seq, null);
  for (const k of ctx.pendingRounds.keys()) if (k <= seq) ctx.pendingRounds.delete(k);
}
