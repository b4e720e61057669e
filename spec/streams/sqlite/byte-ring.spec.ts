import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRingBuffer, maxPayload, ringReader, ringWriter } from '../../../streams/sqlite/byte-ring.js';
import { prng } from '../../helpers/prng.js';

test('records come out in order with their ids, sequence numbers and exact payloads', () => {
  const sab = createRingBuffer(1024);
  const w = ringWriter(sab);
  const r = ringReader(sab);
  assert.is(r.peekId(), null);
  assert.ok(w.tryWrite(1, 10, Buffer.from('abc')));
  assert.ok(w.tryWrite(2, 11, Buffer.alloc(0)));
  assert.is(r.peekId(), 1);
  const a = r.take()!;
  assert.equal([a.id, a.seq, a.payload.toString()], [1, 10, 'abc']);
  const b = r.take()!;
  assert.equal([b.id, b.seq, b.payload.length], [2, 11, 0]);
  assert.is(r.take(), null);
});

test('a full ring refuses a write instead of overwriting unread data, and takes it once read', () => {
  const sab = createRingBuffer(256);
  const w = ringWriter(sab);
  const r = ringReader(sab);
  let id = 0;
  while (w.tryWrite(++id, 0, Buffer.alloc(40, id)));
  const refused = id;
  assert.ok(refused > 2);
  // Reading frees space at the start; a wrapped record needs strictly more than its size (head never meets tail).
  for (let k = 1; k <= 2; k++) {
    const rec = r.take()!;
    assert.is(rec.id, k);
    assert.ok(rec.payload.equals(Buffer.alloc(40, k)));
  }
  assert.ok(w.tryWrite(refused, 0, Buffer.alloc(40, refused)), 'room again after reads');
  for (let k = 3; k <= refused; k++) {
    const rec = r.take()!;
    assert.is(rec.id, k);
    assert.ok(rec.payload.equals(Buffer.alloc(40, k)), `payload ${k}`);
  }
  assert.is(r.take(), null);
});

test('a payload larger than half the ring never fits', () => {
  const sab = createRingBuffer(256);
  assert.not.ok(ringWriter(sab).tryWrite(1, 0, Buffer.alloc(maxPayload(sab) + 1)));
  assert.ok(ringWriter(sab).tryWrite(1, 0, Buffer.alloc(maxPayload(sab))));
});

test('random sizes across many wrap-arounds: nothing lost, duplicated or corrupted', () => {
  const sab = createRingBuffer(4096);
  const w = ringWriter(sab);
  const r = ringReader(sab);
  const rand = prng(7);
  const uniform = (): number => rand.int(1_000_000) / 1_000_000;
  let written = 0;
  let read = 0;
  const pending: Buffer[] = [];
  for (let step = 0; step < 20_000; step++) {
    if (uniform() < 0.55) {
      const p = Buffer.alloc(rand.int(700), (written + 1) & 0xff);
      if (w.tryWrite(written + 1, written * 3, p)) {
        written++;
        pending.push(p);
      }
    } else {
      const rec = r.take();
      if (rec) {
        read++;
        assert.is(rec.id, read);
        assert.is(rec.seq, (read - 1) * 3);
        assert.ok(rec.payload.equals(pending.shift()!), `record ${read}`);
      }
    }
  }
  assert.ok(written > 1000, `only ${written} written`);
});

test('waitForData resolves when a record arrives', async () => {
  const sab = createRingBuffer(256);
  const r = ringReader(sab);
  let woke = false;
  const waiting = r.waitForData().then(() => (woke = true));
  await new Promise((res) => setImmediate(res));
  assert.not.ok(woke);
  ringWriter(sab).tryWrite(1, 0, Buffer.from('x'));
  await waiting;
  assert.ok(woke);
});

test.run();
