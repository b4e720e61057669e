/**
 * The last committed rounds, packed as their PREPARE carried them (bus/wire.ts), kept by every instance of a
 * cluster: a Slave with a gap (a missed COMMIT, back from a pause or a cut) fetches only the rounds it missed
 * from its Master instead of the whole repository. Bounded by rounds and bytes, the oldest dropped first.
 *
 * Each round keeps the epoch of the Master that committed it. The rounds after `seq` are handed out only when
 * the requester's round `seq` is this log's round `seq` (same epoch): one that applied a round the cluster later
 * lost (its Master died before the others had it) gets a snapshot instead.
 */
export type LoggedRound = { readonly seq: number; readonly epoch: number; readonly changes: Buffer };

export type RoundLogLimits = { readonly rounds: number; readonly bytes: number };

export const ROUND_LOG_LIMITS: RoundLogLimits = { rounds: 16_384, bytes: 64 * 1024 * 1024 };

export type RoundLog = {
  /** Round `seq`, committed in `epoch`. One that does not follow the last starts the log over from it. */
  append(seq: number, epoch: number, changes: Buffer): void;
  /** Nothing before `seq` is known (a snapshot was installed at it); `epoch`: of round `seq`, when known. */
  reset(seq: number, epoch: number | null): void;
  /** The epoch of round `seq`, when the log knows it. */
  epochAt(seq: number): number | null;
  /** Every round after `seq`, when the log holds them all and its round `seq` was committed in `epoch`. */
  since(seq: number, epoch: number | undefined): readonly LoggedRound[] | null;
  stats(): { readonly rounds: number; readonly bytes: number };
};

export function createRoundLog(limits: RoundLogLimits = ROUND_LOG_LIMITS): RoundLog {
  let rounds: LoggedRound[] = [];
  let head = 0;
  let bytes = 0;
  /** The round just before the first kept. */
  let base: { seq: number; epoch: number | null } = { seq: 0, epoch: null };
  const size = (): number => rounds.length - head;
  const last = (): number => (size() > 0 ? rounds[rounds.length - 1]!.seq : base.seq);
  const dropOldest = (): void => {
    const r = rounds[head++]!;
    bytes -= r.changes.length;
    base = { seq: r.seq, epoch: r.epoch };
    // Compact now and then rather than shift on every drop.
    if (head > 1024 && head * 2 > rounds.length) {
      rounds = rounds.slice(head);
      head = 0;
    }
  };
  const log: RoundLog = {
    append(seq, epoch, changes) {
      if (seq !== last() + 1) log.reset(seq - 1, null);
      rounds.push({ seq, epoch, changes: ownCopy(changes) });
      bytes += changes.length;
      while (size() > limits.rounds || (bytes > limits.bytes && size() > 1)) dropOldest();
    },
    reset(seq, epoch) {
      rounds = [];
      head = 0;
      bytes = 0;
      base = { seq, epoch };
    },
    epochAt(seq) {
      if (seq === base.seq) return base.epoch;
      const i = head + seq - base.seq - 1;
      return i >= head && i < rounds.length ? rounds[i]!.epoch : null;
    },
    since(seq, epoch) {
      if (epoch === undefined || seq < base.seq || seq > last()) return null;
      if (log.epochAt(seq) !== epoch) return null;
      return rounds.slice(head + seq - base.seq);
    },
    stats: () => ({ rounds: size(), bytes }),
  };
  return log;
}

/**
 * A buffer of its own: a small one from Node's shared pool (allocUnsafe, base64 decoding) is a slice that keeps its
 * whole 8 KiB pool block alive, so 16,384 small rounds could hold a hundred megabytes.
 */
function ownCopy(b: Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(b.length);
  b.copy(own);
  return own;
}

/** Rounds packed for one transfer part: seq u48 | epoch u32 | length u32 | packed changes, one after the other. */
export function packRounds(rounds: readonly LoggedRound[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of rounds) {
    const head = Buffer.allocUnsafe(14);
    head.writeUIntLE(r.seq, 0, 6);
    head.writeUInt32LE(r.epoch, 6);
    head.writeUInt32LE(r.changes.length, 10);
    parts.push(head, r.changes);
  }
  return Buffer.concat(parts);
}

/** The rounds of a part, or null when it is not exactly a list of them. */
export function unpackRounds(b: Buffer): LoggedRound[] | null {
  const out: LoggedRound[] = [];
  let at = 0;
  while (at < b.length) {
    if (at + 14 > b.length) return null;
    const len = b.readUInt32LE(at + 10);
    if (at + 14 + len > b.length) return null;
    out.push({ seq: b.readUIntLE(at, 6), epoch: b.readUInt32LE(at + 6), changes: b.subarray(at + 14, at + 14 + len) });
    at += 14 + len;
  }
  return out;
}
