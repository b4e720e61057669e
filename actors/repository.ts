/**
 * Repository actor: owns the swarm read model and its SQLite mirror. It applies committed batches (memory
 * and one SQLite transaction), answers the clients waiting on them, answers scrapes from memory, and exports
 * or installs whole snapshots for state transfer. It is the only writer of both stores.
 */
import { createHash } from 'node:crypto';
import { Observable } from 'rxjs';
import type { Endpoint, LocalMessage } from '../src/bus/messages.js';
import { ANNOUNCE_REPLY_HEADER_LEN } from '../src/protocol/constants.js';
import { encodeErrorReply, encodeScrapeReply, writeAnnounceReplyHeader } from '../src/protocol/encode.js';
import { applyChange, createStore, effectiveNumWant, getSwarm, leechers, peersOf, scrapeEntry, writePeers } from '../src/domain/swarm.js';
import type { Change, RowEffect, SwarmStore } from '../src/domain/types.js';
import type { SqliteStore } from '../streams/sqlite/sqlite-store.js';
import { httpAnnounceBody } from '../src/http/announce.js';
import { failureReply } from '../src/http/replies.js';
import type { Proposal, ScrapeQuery } from './types.js';

export type RepositoryDeps = {
  readonly sqlite: SqliteStore;
  /** Announce interval told to clients (seconds). */
  readonly intervalS: number;
  readonly log: (line: string) => void;
};

export type Repository = {
  readonly store: SwarmStore;
  /** Apply one committed batch; returns the replies for the clients that were waiting on it. */
  apply(seq: number, items: readonly Proposal[]): LocalMessage[];
  scrape(q: ScrapeQuery): LocalMessage;
  lastSeq(): number;
  /** The whole state as changes that rebuild it (state transfer). */
  snapshot(): Change[];
  /** Replace everything with a snapshot taken at `seq`. */
  install(seq: number, changes: readonly Change[]): { ok: true } | { ok: false; error: string };
  /** Order-independent digest of the read model, to compare replicas. */
  digest(): string;
  /** False after a failed SQLite write: this instance then votes ERROR. */
  healthy(): boolean;
  clear(): void;
};

export function createRepository(deps: RepositoryDeps): Repository {
  let store = createStore();
  let seq = 0;
  let healthy = true;

  const reply = (to: Endpoint, data: Buffer): LocalMessage => ({ type: 'reply', to, data });

  const repo: Repository = {
    get store() {
      return store;
    },
    apply(batchSeq, items) {
      const effects: RowEffect[] = [];
      const replies: LocalMessage[] = [];
      const httpReplies: Array<() => void> = [];
      for (const { change, client } of items) {
        applyChange(store, change, effects);
        if (!client || change.kind !== 'announce') continue;
        if (client.kind === 'http') {
          // Read now, as this change left the swarm (like the UDP reply); handed over once the batch is stored.
          const body = httpAnnounceBody(store, change.infoHash, client, deps.intervalS);
          httpReplies.push(() => client.settle(body));
          continue;
        }
        const s = getSwarm(store, change.infoHash);
        const family = client.family;
        const want = effectiveNumWant(client.numWant, family);
        // One buffer per reply, peers written straight into it: no per-peer objects on this path.
        const data = Buffer.allocUnsafe(ANNOUNCE_REPLY_HEADER_LEN + want * (family === 4 ? 6 : 18));
        const len = writePeers(store, s, family, client, want, client.transactionId, data, ANNOUNCE_REPLY_HEADER_LEN);
        writeAnnounceReplyHeader(data, client.transactionId, deps.intervalS, s ? leechers(s) : 0, s ? s.seeders : 0);
        replies.push(reply(client.to, data.subarray(0, ANNOUNCE_REPLY_HEADER_LEN + len)));
      }
      seq = batchSeq;
      const written = deps.sqlite.writeBatch(batchSeq, effects);
      if (!written.ok) {
        // Memory is ahead of the file now; vote ERROR until a resync rebuilds both.
        healthy = false;
        deps.log(`SQLite write failed at sequence ${batchSeq}: ${written.error}`);
      }
      for (const settle of httpReplies) settle();
      return replies;
    },
    scrape(q) {
      return reply(q.to, encodeScrapeReply(q.transactionId, q.infoHashes.map((h) => scrapeEntry(store, h))));
    },
    lastSeq: () => seq,
    snapshot() {
      const out: Change[] = [];
      for (const s of store.swarms.values()) {
        out.push({ kind: 'torrent', infoHash: s.infoHash, name: s.name, size: s.size, completed: s.completed });
        for (const p of peersOf(store, s)) {
          out.push({
            kind: 'announce', infoHash: s.infoHash, peerId: p.peerId, ip: p.ip, port: p.port, uploaded: p.uploaded,
            downloaded: p.downloaded, left: p.left, event: 0, at: p.lastSeen,
          });
        }
      }
      return out;
    },
    install(at, changes) {
      store = createStore();
      deps.sqlite.clear();
      const effects: RowEffect[] = [];
      for (const c of changes) applyChange(store, c, effects);
      seq = at;
      const written = deps.sqlite.writeBatch(at, effects);
      healthy = written.ok;
      return written.ok ? { ok: true } : { ok: false, error: written.error };
    },
    digest() {
      const rows: string[] = [];
      for (const s of store.swarms.values()) {
        rows.push(`t ${s.infoHash.toString('hex')} ${s.completed} ${s.name ?? ''} ${s.size ?? ''}`);
        for (const p of peersOf(store, s)) {
          rows.push(`p ${s.infoHash.toString('hex')} ${p.peerId.toString('hex')} ${p.ip.toString('hex')} ${p.port} ${p.uploaded} ${p.downloaded} ${p.left} ${p.lastSeen}`);
        }
      }
      rows.sort();
      return createHash('sha256').update(rows.join('\n')).digest('hex');
    },
    healthy: () => healthy,
    clear() {
      store = createStore();
      seq = 0;
      deps.sqlite.clear();
    },
  };
  return repo;
}

export type RepositoryInput =
  | { type: 'apply'; seq: number; items: readonly Proposal[] }
  | { type: 'scrape'; query: ScrapeQuery }
  | { type: 'reject'; items: readonly Proposal[]; reason: string };

/** The actor face: committed batches and queries in, replies out. */
export function repositoryActor(input$: Observable<RepositoryInput>, repo: Repository): Observable<LocalMessage> {
  return new Observable<LocalMessage>((sub) => {
    const s = input$.subscribe({
      next: (msg) => {
        switch (msg.type) {
          case 'apply':
            for (const r of repo.apply(msg.seq, msg.items)) sub.next(r);
            break;
          case 'scrape':
            sub.next(repo.scrape(msg.query));
            break;
          case 'reject':
            for (const { client } of msg.items) {
              if (client?.kind === 'http') client.settle(failureReply(msg.reason));
              else if (client) sub.next({ type: 'reply', to: client.to, data: encodeErrorReply(client.transactionId, msg.reason) });
            }
            break;
        }
      },
      error: (e) => sub.error(e),
      complete: () => sub.complete(),
    });
    return () => s.unsubscribe();
  });
}
