/** Row effects as tests read them: the kinds of a packed log in order, and a mirror that writes at once. */
import { createEffectLog, type EffectLog, readEffects } from '../../src/domain/row-effects.js';
import type { DirectSqliteStore } from '../../streams/sqlite/sqlite-store.js';
import { createPending } from '../../streams/sqlite/write-behind.js';

/** The kinds of the effects `apply` logs, in order. */
export function effectKinds(apply: (log: EffectLog) => void): string[] {
  const log = createEffectLog();
  apply(log);
  const kinds: string[] = [];
  readEffects(log.bytes(), {
    peer: () => kinds.push('peer'),
    peerGone: () => kinds.push('peer-gone'),
    torrent: () => kinds.push('torrent'),
    torrentGone: () => kinds.push('torrent-gone'),
  });
  return kinds;
}

/** A mirror on this thread that writes each batch as it comes (no lag), for pipelines under a virtual clock. */
export function immediateMirror(store: DirectSqliteStore) {
  const pending = createPending();
  return {
    writeBatch(seq: number, effects: Buffer) {
      pending.add(seq, Buffer.from(effects));
      const r = store.writePending(pending);
      pending.clear();
      return r;
    },
    clear: () => {
      store.clear();
    },
  };
}
