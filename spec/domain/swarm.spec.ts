import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  applyChange,
  createStore,
  effectiveNumWant,
  getSwarm,
  leechers,
  peerCount,
  peersOf,
  scrapeEntry,
  selectPeers,
} from '../../src/domain/swarm.js';
import type { AnnounceChange } from '../../src/domain/types.js';
import { effectKinds } from '../helpers/effects.js';

const ih = Buffer.alloc(20, 7);
const peer = (n: number, over: Partial<AnnounceChange> = {}): AnnounceChange => ({
  kind: 'announce',
  infoHash: ih,
  peerId: Buffer.alloc(20, n),
  ip: Buffer.from([10, 0, 0, n]),
  port: 6000 + n,
  uploaded: 0n,
  downloaded: 0n,
  left: 100n,
  event: 2,
  at: 1000,
  ...over,
});

test('seeders are left = 0, the rest leechers; re-announce updates in place', () => {
  const st = createStore();
  applyChange(st, peer(1));
  applyChange(st, peer(2, { left: 0n }));
  applyChange(st, peer(3));
  let s = getSwarm(st, ih)!;
  assert.is(s.seeders, 1);
  assert.is(leechers(s), 2);
  applyChange(st, peer(3, { left: 0n, event: 0 }));
  s = getSwarm(st, ih)!;
  assert.is(s.seeders, 2);
  assert.is(leechers(s), 1);
  assert.is(peerCount(s), 3);
});

test('stopped removes the peer, with a row effect for persistence', () => {
  const st = createStore();
  applyChange(st, peer(1));
  applyChange(st, peer(2, { left: 0n }));
  // Peer 2 holds the last slot: its row is the one that goes (no record moves).
  assert.equal(
    effectKinds((log) => applyChange(st, peer(2, { event: 3 }), log)),
    ['peer-gone'],
  );
  const s = getSwarm(st, ih)!;
  assert.is(peerCount(s), 1);
  assert.is(s.seeders, 0);
  assert.equal(scrapeEntry(st, ih), { seeders: 0, completed: 0, leechers: 1 });
});

test('completed counts a download once per peer', () => {
  const st = createStore();
  applyChange(st, peer(1));
  applyChange(st, peer(1, { event: 1, left: 0n }));
  applyChange(st, peer(1, { event: 1, left: 0n }));
  applyChange(st, peer(2, { event: 1, left: 0n }));
  assert.is(getSwarm(st, ih)!.completed, 2);
});

test('a peer never gets its own address back; other family peers are not mixed in', () => {
  const st = createStore();
  for (let n = 1; n <= 5; n++) applyChange(st, peer(n));
  applyChange(st, peer(9, { ip: Buffer.alloc(16, 1) }));
  const s = getSwarm(st, ih);
  for (let off = 0; off < 6; off++) {
    const got = selectPeers(st, s, 4, { ip: Buffer.from([10, 0, 0, 3]), port: 6003 }, 50, off);
    assert.is(got.length, 4);
    assert.ok(!got.some((p) => p.port === 6003));
  }
  assert.is(selectPeers(st, s, 6, { ip: Buffer.alloc(16, 2), port: 1 }, 50, 0).length, 1);
});

test('num_want: -1 means 50, capped at 200 (80 for IPv6), 0 means none', () => {
  assert.is(effectiveNumWant(-1, 4), 50);
  assert.is(effectiveNumWant(1000, 4), 200);
  assert.is(effectiveNumWant(1000, 6), 80);
  assert.is(effectiveNumWant(0, 4), 0);
  const st = createStore();
  for (let n = 1; n <= 60; n++) applyChange(st, peer(n));
  assert.is(selectPeers(st, getSwarm(st, ih), 4, { ip: Buffer.alloc(4), port: 0 }, effectiveNumWant(-1, 4), 3).length, 50);
});

test('the peer window is the records from the offset on, wrapping, the requester left out (every size, offset and count)', () => {
  const st = createStore();
  for (let n = 1; n <= 23; n++) {
    applyChange(st, peer(n));
    const s = getSwarm(st, ih)!;
    const all = peersOf(st, s);
    for (let off = 0; off < 2 * n + 3; off++) {
      for (const count of [0, 1, 3, n - 1, n, 50]) {
        for (const self of [3, 99]) {
          const me = { ip: Buffer.from([10, 0, 0, self]), port: 6000 + self };
          // Reference: walk the records in slot order from the offset, skip the requester, take `count`.
          const want: number[] = [];
          for (let i = 0; i < n && want.length < count; i++) {
            const p = all[(off + i) % n]!;
            if (p.port !== me.port || !p.ip.equals(me.ip)) want.push(p.port);
          }
          const got = selectPeers(st, s, 4, me, count, off).map((p) => p.port);
          assert.equal(got, want, `${n} peers, offset ${off}, count ${count}, self ${self}`);
        }
      }
    }
  }
});

test('expire drops peers last seen before the cut-off, then empty swarms', () => {
  const st = createStore();
  applyChange(st, peer(1, { at: 1000 }));
  applyChange(st, peer(2, { at: 5000, left: 0n }));
  applyChange(st, { kind: 'expire', before: 2000 });
  assert.equal(scrapeEntry(st, ih), { seeders: 1, completed: 0, leechers: 0 });
  assert.equal(
    effectKinds((log) => applyChange(st, { kind: 'expire', before: 6000 }, log)),
    ['peer-gone', 'torrent-gone'],
  );
  assert.is(getSwarm(st, ih), undefined);
});

test('unknown hashes scrape as zeros', () => {
  assert.equal(scrapeEntry(createStore(), ih), { seeders: 0, completed: 0, leechers: 0 });
});

test.run();
