/** The charts' numbers: samples between two readings of the totals, restarts, and the one-minute window. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EMPTY_HISTORY, rebase, record, sampleBetween, type Totals } from '../../src/domain/rates.js';

const t = (at: number, udp: number, http = 0, commits = 0, commitSeconds = 0, live = 3): Totals => ({
  at,
  udp,
  http,
  commits,
  commitSeconds,
  live,
});

test('sampleBetween: rates per second, mean commit latency in ms, null without a commit, a restart counted from 0', () => {
  const table: readonly (readonly [a: Totals, b: Totals, udp: number, http: number, commitMs: number | null, live: number])[] = [
    [t(0, 0), t(1000, 250, 10, 4, 0.01, 3), 250, 10, 2.5, 3],
    [t(1000, 250, 10, 4, 0.01), t(3000, 450, 10, 4, 0.01, 2), 100, 0, null, 2],
    // Totals that went down: a new instance (Stop, Start); what it counted is this interval's.
    [t(3000, 450, 10, 4, 0.01), t(4000, 30, 2, 1, 0.004), 30, 2, 4, 3],
    [t(5000, 1), t(5000, 9), 0, 0, null, 3],
  ];
  for (const [a, b, udp, http, commitMs, live] of table) {
    const s = sampleBetween(a, b);
    assert.is(s.udp, udp);
    assert.is(s.http, http);
    if (commitMs === null) assert.is(s.commitMs, null);
    else assert.ok(Math.abs(s.commitMs! - commitMs) < 1e-9, `${s.commitMs} ≈ ${commitMs}`);
    assert.is(s.live, live);
  }
});

test('record: the first reading is a baseline, then one sample per reading, the oldest dropped past `keep`', () => {
  let h = record(EMPTY_HISTORY, t(0, 0), 3);
  assert.equal(h.samples, []);
  for (let i = 1; i <= 5; i++) h = record(h, t(i * 1000, i * i), 3);
  assert.equal(
    h.samples.map((s) => s.udp),
    [5, 7, 9],
  );
  // A new baseline keeps the samples: the next reading only sets it.
  h = record(rebase(h), t(9000, 0), 3);
  assert.equal(
    h.samples.map((s) => s.udp),
    [5, 7, 9],
  );
  h = record(h, t(10_000, 42), 3);
  assert.equal(
    h.samples.map((s) => s.udp),
    [7, 9, 42],
  );
});

test.run();
