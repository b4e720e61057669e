import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  addPeer,
  createPeerPool,
  createPeerTable,
  findPeer,
  offsetOf,
  OFF_PORT,
  releaseTable,
  removePeer,
  slabOf,
} from '../../src/domain/peer-table.js';

/** Deterministic PRNG so a failure replays. */
function prng(seed: number): () => number {
  let s = seed;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

test('random adds and removes over several swarms agree with a Map model (scan, index, backward-shift deletes, shared blocks)', () => {
  for (const seed of [1, 7, 99]) {
    const rnd = prng(seed);
    const pool = createPeerPool(4);
    const tables = [createPeerTable(), createPeerTable(), createPeerTable()];
    const models = tables.map(() => new Map<string, number>()); // peer id hex → port written
    // IDs share a client prefix, like real ones; the pool is small so adds and removes collide often.
    const ids = Array.from({ length: 3000 }, (_, i) => {
      const b = Buffer.from('-qB4650-000000000000', 'latin1');
      b.writeUInt32BE(Math.imul(i, 2654435761) >>> 0, 16);
      return b;
    });
    for (let step = 0; step < 60_000; step++) {
      const k = step % 3 === 0 ? 0 : Math.floor(rnd() * 3);
      const [t, model] = [tables[k]!, models[k]!];
      // Phases: grow past the index threshold, then churn in a small range (shrinks, scans again).
      const id = ids[Math.floor(rnd() * (step < 30_000 ? ids.length : 12))]!;
      const key = id.toString('hex');
      const slot = findPeer(pool, t, id);
      assert.is(slot >= 0, model.has(key), `step ${step}: presence`);
      if (slot >= 0)
        assert.is(slabOf(pool, t, slot).readUInt16LE(offsetOf(pool, t, slot) + OFF_PORT), model.get(key), `step ${step}: record`);
      if (rnd() < (step < 30_000 ? 0.55 : 0.3)) {
        const s = slot >= 0 ? slot : addPeer(pool, t, id);
        const port = Math.floor(rnd() * 65535);
        slabOf(pool, t, s).writeUInt16LE(port, offsetOf(pool, t, s) + OFF_PORT);
        model.set(key, port);
      } else if (slot >= 0) {
        removePeer(pool, t, slot);
        model.delete(key);
      }
      assert.is(t.count, model.size);
    }
    tables.forEach((t, k) => {
      for (const id of ids) assert.is(findPeer(pool, t, id) >= 0, models[k]!.has(id.toString('hex')));
    });
    // Blocks in use = what the tables hold; the rest is on the free list for the next swarm.
    const held = tables.reduce((n, t) => n + t.blocks.length, 0);
    assert.is(held + pool.free.length, pool.used);
    for (const t of tables) releaseTable(pool, t);
    assert.is(pool.free.length, pool.used, 'a dropped swarm gives every block back');
  }
});

test('records are packed: 54 bytes per IPv4 peer, 66 per IPv6 peer', () => {
  assert.is(createPeerPool(4).stride, 54);
  assert.is(createPeerPool(16).stride, 66);
});

test.run();
