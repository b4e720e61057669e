/** The metrics factory: own registry, every metric of issue 7 exposed, sampled gauges, no shared state. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { register } from 'prom-client';
import { createMetrics, timed, udpRequestAction } from '../src/metrics.js';

const NAMES = [
  'tracker_requests_total',
  'tracker_request_errors_total',
  'tracker_replies_dropped_total',
  'tracker_consensus_rounds_total',
  'tracker_batch_size',
  'tracker_commit_latency_seconds',
  'tracker_elections_total',
  'tracker_epoch',
  'tracker_live_instances',
  'tracker_swarms',
  'tracker_peers',
  'tracker_sqlite_write_seconds',
];

const line = (text: string, prefix: string): string | undefined => text.split('\n').find((l) => l.startsWith(prefix));

test('every metric is exposed with HELP and TYPE, zero series exist from the start', async () => {
  const m = createMetrics();
  const text = await m.text();
  for (const n of NAMES) {
    assert.ok(text.includes(`# HELP ${n} `), `help ${n}`);
    assert.ok(text.includes(`# TYPE ${n} `), `type ${n}`);
  }
  assert.ok(text.includes('# TYPE tracker_batch_size histogram'));
  assert.ok(text.includes('# TYPE tracker_epoch gauge'));
  assert.ok(text.includes('# TYPE tracker_requests_total counter'));
  assert.ok(text.includes('tracker_requests_total{protocol="udp",action="connect"} 0'));
  assert.ok(text.includes('tracker_replies_dropped_total{protocol="http",reason="election"} 0'));
  assert.ok(text.includes('tracker_consensus_rounds_total{outcome="aborted"} 0'));
  assert.ok(m.contentType.startsWith('text/plain'));
});

test('counting, gauges and histograms show in the text', async () => {
  const m = createMetrics();
  m.requests.inc({ protocol: 'udp', action: 'announce' });
  m.requests.inc({ protocol: 'udp', action: 'announce' });
  m.errors.inc({ protocol: 'http', action: 'scrape' });
  m.repliesDropped.inc({ protocol: 'udp', reason: 'election' }, 3);
  m.consensusRounds.inc({ outcome: 'committed' });
  m.batchSize.observe(100);
  m.commitLatency.observe(0.004);
  m.elections.inc();
  m.epoch.set(7);
  m.liveInstances.set(3);
  m.sqliteWrite.observe(0.0003);
  const t = await m.text();
  assert.is(
    line(t, 'tracker_requests_total{protocol="udp",action="announce"}'),
    'tracker_requests_total{protocol="udp",action="announce"} 2',
  );
  assert.is(
    line(t, 'tracker_request_errors_total{protocol="http",action="scrape"}'),
    'tracker_request_errors_total{protocol="http",action="scrape"} 1',
  );
  assert.is(
    line(t, 'tracker_replies_dropped_total{protocol="udp",reason="election"}'),
    'tracker_replies_dropped_total{protocol="udp",reason="election"} 3',
  );
  assert.is(line(t, 'tracker_consensus_rounds_total{outcome="committed"}'), 'tracker_consensus_rounds_total{outcome="committed"} 1');
  assert.is(line(t, 'tracker_batch_size_bucket{le="64"}'), 'tracker_batch_size_bucket{le="64"} 0');
  assert.is(line(t, 'tracker_batch_size_bucket{le="128"}'), 'tracker_batch_size_bucket{le="128"} 1');
  assert.is(line(t, 'tracker_batch_size_sum'), 'tracker_batch_size_sum 100');
  assert.is(line(t, 'tracker_commit_latency_seconds_bucket{le="0.005"}'), 'tracker_commit_latency_seconds_bucket{le="0.005"} 1');
  assert.is(line(t, 'tracker_commit_latency_seconds_count'), 'tracker_commit_latency_seconds_count 1');
  assert.is(line(t, 'tracker_elections_total'), 'tracker_elections_total 1');
  assert.is(line(t, 'tracker_epoch '), 'tracker_epoch 7');
  assert.is(line(t, 'tracker_live_instances'), 'tracker_live_instances 3');
  assert.is(line(t, 'tracker_sqlite_write_seconds_bucket{le="0.0005"}'), 'tracker_sqlite_write_seconds_bucket{le="0.0005"} 1');
});

test('typed shortcuts count into the same series', async () => {
  const m = createMetrics();
  m.countRequest('udp', 'connect');
  m.countRequest('udp', 'connect');
  m.requests.inc({ protocol: 'udp', action: 'connect' });
  m.countError('http', 'announce');
  m.countDropped('udp', 'not_serving');
  const t = await m.text();
  assert.is(
    line(t, 'tracker_requests_total{protocol="udp",action="connect"}'),
    'tracker_requests_total{protocol="udp",action="connect"} 3',
  );
  assert.is(
    line(t, 'tracker_request_errors_total{protocol="http",action="announce"}'),
    'tracker_request_errors_total{protocol="http",action="announce"} 1',
  );
  assert.is(
    line(t, 'tracker_replies_dropped_total{protocol="udp",reason="not_serving"}'),
    'tracker_replies_dropped_total{protocol="udp",reason="not_serving"} 1',
  );
  assert.is(line(t, 'tracker_requests_total{protocol="http",action="other"}'), 'tracker_requests_total{protocol="http",action="other"} 0');
});

test('swarms and peers are read at scrape time; a failing source keeps the last value', async () => {
  let stats = { swarms: 1, peers: 10 };
  let broken = false;
  const m = createMetrics({
    swarmStats: () => {
      if (broken) throw new Error('store gone');
      return stats;
    },
  });
  assert.ok((await m.text()).includes('tracker_swarms 1\n'));
  stats = { swarms: 4, peers: 99 };
  let t = await m.text();
  assert.ok(t.includes('tracker_swarms 4\n'));
  assert.ok(t.includes('tracker_peers 99\n'));
  broken = true;
  t = await m.text();
  assert.ok(t.includes('tracker_peers 99\n'), 'last value kept, the scrape still works');
  // without a source they are 0
  assert.ok((await createMetrics().text()).includes('tracker_swarms 0\n'));
});

test("instances do not share series, nor touch prom-client's default registry", async () => {
  const a = createMetrics();
  const b = createMetrics();
  a.elections.inc(5);
  assert.is(line(await a.text(), 'tracker_elections_total'), 'tracker_elections_total 5');
  assert.is(line(await b.text(), 'tracker_elections_total'), 'tracker_elections_total 0');
  assert.is((await register.metrics()).includes('tracker_'), false);
});

test('process series only when asked for', async () => {
  assert.is((await createMetrics().text()).includes('process_resident_memory_bytes'), false);
  assert.ok((await createMetrics({ process: true }).text()).includes('process_resident_memory_bytes'));
});

test('prefix and default labels', async () => {
  const m = createMetrics({ prefix: 'udpt_', labels: { tracker_id: '3' } });
  m.epoch.set(2);
  const t = await m.text();
  assert.ok(t.includes('udpt_epoch{tracker_id="3"} 2'), t);
  assert.not.ok(t.includes('tracker_epoch'));
});

test('timed: observes seconds on the injected clock and passes the result through', () => {
  let now = 1000;
  const seen: number[] = [];
  const f = timed(
    (a: number, b: number) => {
      now += 250;
      return a + b;
    },
    (s) => seen.push(s),
    () => now,
  );
  assert.is(f(2, 3), 5);
  assert.equal(seen, [0.25]);
});

test('udpRequestAction reads the BEP 15 action', () => {
  const d = (action: number, len = 16): Buffer => {
    const b = Buffer.alloc(len);
    if (len >= 12) b.writeUInt32BE(action, 8);
    return b;
  };
  assert.is(udpRequestAction(d(0)), 'connect');
  assert.is(udpRequestAction(d(1, 98)), 'announce');
  assert.is(udpRequestAction(d(2, 36)), 'scrape');
  assert.is(udpRequestAction(d(3)), 'other');
  assert.is(udpRequestAction(d(0, 12)), 'other');
  assert.is(udpRequestAction(Buffer.alloc(0)), 'other');
});

test('totals: the plain request tallies by protocol and the commits, as the UI charts read them', async () => {
  const m = createMetrics();
  assert.equal(m.totals(), { udp: 0, http: 0, commits: 0, commitSeconds: 0 });
  m.countRequest('udp', 'connect');
  m.countRequest('udp', 'announce');
  m.countRequest('udp', 'other');
  m.countRequest('http', 'scrape');
  m.observeCommit(0.002);
  m.observeCommit(0.004);
  assert.equal(m.totals(), { udp: 3, http: 1, commits: 2, commitSeconds: 0.006 });
  // observeCommit also feeds the histogram the scrape shows.
  assert.is(line(await m.text(), 'tracker_commit_latency_seconds_count'), 'tracker_commit_latency_seconds_count 2');
});

test.run();
