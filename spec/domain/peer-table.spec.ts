import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addPeer, createPeerTable, findPeer, removePeer, OFF_PORT } from '../../src/domain/peer-table.js';

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

test('random adds and removes agree with a Map model (index probing, backward-shift deletes, grow and shrink)', () => {
  for (const seed of [1, 7, 99]) {
    const rnd = prng(seed);
    const t = createPeerTable(4);
    const model = new Map<string, number>(); // peer id hex → port written
    // IDs share a client prefix, like real ones; the pool is small so adds and removes collide often.
    const ids = Array.from({ length: 3000 }, (_, i) => {
      const b = Buffer.from('-qB4650-000000000000', 'latin1');
      b.writeUInt32BE(Math.imul(i, 2654435761) >>> 0, 16);
      return b;
    });
    for (let step = 0; step < 40_000; step++) {
      const id = ids[Math.floor(rnd() * (step < 20_000 ? ids.length : 200))]!;
      const key = id.toString('hex');
      const slot = findPeer(t, id);
      assert.is(slot >= 0, model.has(key), `step ${step}: presence`);
      if (slot >= 0) assert.is(t.data.readUInt16LE(slot * t.stride + OFF_PORT), model.get(key), `step ${step}: record`);
      if (rnd() < 0.55) {
        const s = slot >= 0 ? slot : addPeer(t, id);
        const port = Math.floor(rnd() * 65535);
        t.data.writeUInt16LE(port, s * t.stride + OFF_PORT);
        model.set(key, port);
      } else if (slot >= 0) {
        removePeer(t, slot);
        model.delete(key);
      }
      assert.is(t.count, model.size);
    }
    for (const id of ids) assert.is(findPeer(t, id) >= 0, model.has(id.toString('hex')));
    assert.ok(t.data.length / t.stride < 64 * 4 || t.count * 4 >= t.data.length / t.stride, 'a shrunk swarm gives memory back');
  }
});

test('records are packed: 54 bytes per IPv4 peer, 66 per IPv6 peer', () => {
  assert.is(createPeerTable(4).stride, 54);
  assert.is(createPeerTable(16).stride, 66);
});

test.run();
