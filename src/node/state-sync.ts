/**
 * State transfer on the joining side: from the sync request on, a round's messages are held back; snapshot
 * chunks are assembled; once the whole snapshot is installed, the held rounds that follow it are replayed.
 * On the Master's side, `snapshotFor` cuts the repository into chunks for one joiner.
 */
import type { Repository } from '../../actors/repository.js';
import { createAssembler, snapshotMessages } from '../../actors/state-transfer.js';
import type { ClusterMessage } from '../bus/messages.js';
import type { RoundMessage } from './cluster-inbox.js';

type Snapshot = Extract<ClusterMessage, { type: 'snapshot' }>;

export type Installed = {
  readonly seq: number;
  /** The Master's key when the transfer carried one (a cluster without a secret). */
  readonly key: Buffer | null;
  readonly records: number;
  readonly replay: readonly RoundMessage[];
};
export type ChunkResult = 'bad' | 'partial' | 'not-syncing' | { readonly failed: string } | Installed;

export type StateSync = {
  /** A sync request went out: hold rounds back from now on and drop any unfinished transfer. */
  begin(): void;
  /** True when the message was held back (a transfer is under way). */
  hold(m: RoundMessage): boolean;
  chunk(m: Snapshot): ChunkResult;
};

export function createStateSync(repo: Repository): StateSync {
  let held: RoundMessage[] | null = null;
  const assembler = createAssembler();
  return {
    begin() {
      held = [];
      assembler.reset();
    },
    hold(m) {
      if (!held) return false;
      held.push(m);
      return true;
    },
    chunk(m) {
      if (!held) return 'not-syncing';
      const done = assembler.add(m);
      if (done === 'bad' || done === 'partial') return done;
      const installed = repo.install(done.seq, done.changes);
      if (!installed.ok) return { failed: installed.error };
      const replay = held.filter((r) => r.seq > done.seq);
      held = null;
      return { seq: done.seq, key: done.key, records: done.changes.length, replay };
    },
  };
}

/** `key`: handed over only without a secret (null: with one, every instance derives the keys). */
export function snapshotFor(repo: Repository, from: number, epoch: number, to: number, key: Buffer | null): Snapshot[] {
  return snapshotMessages(from, epoch, to, repo.lastSeq(), key, repo.snapshot());
}
