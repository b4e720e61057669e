/**
 * The synthetic trace fed through the data plane of a lone Master (UdpIngress → batch → Consensus →
 * Repository → reply: src/node/data-plane.ts, the function the tracker runs) on an rxjs TestScheduler: virtual time, no sockets. Each recorded
 * request arrives at its recorded (scaled) time; the replies must be the recorded ones, in the recorded order,
 * and protocol timing must hold (connection-ID lifetime, one commit per batching window).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { map, merge, NEVER, of, timer, type Observable, type SchedulerLike } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { ConsensusInput } from '../../actors/consensus.js';
import { createRepository } from '../../actors/repository.js';
import { type ClientProposal, dataPlane } from '../../src/node/data-plane.js';
import type { Datagram } from '../../src/protocol/types.js';
import type { Endpoint } from '../../src/bus/messages.js';
import { addressBytes } from '../../src/protocol/compact.js';
import { mintConnectionId } from '../../src/protocol/connection-id.js';
import { decodeReply } from '../../src/protocol/decode-reply.js';
import { openSqliteStore } from '../../streams/sqlite/sqlite-store.js';
import { readPcap, type UdpPacket } from '../../src/trace/pcap.js';
import { SYNTHETIC } from '../../scripts/make-trace.js';
import { immediateMirror } from '../helpers/effects.js';

const read = readPcap(readFileSync(new URL('../../../spec/fixtures/synthetic-swarm.pcap', import.meta.url)));
if (!read.ok) throw new Error(read.error);
const packets = read.packets;
const toTracker = (p: UdpPacket): boolean => p.dst.port === SYNTHETIC.tracker.port;
const requests = packets.filter(toTracker);
const recordedReplies = packets.filter((p) => !toTracker(p));
/** Whole microseconds, so virtual frames carry no float noise from the capture's seconds. */
const us = (p: UdpPacket): number => Math.round(p.t * 1e6);
const startUs = us(requests[0]!);

type Delivery = { frame: number; data: Buffer; from: UdpPacket['src'] };
type Out = { frame: number; to: Endpoint; data: Buffer };
type Run = { replies: Out[]; rounds: Array<{ frame: number; size: number }> };

/** One lone Master on virtual time, through the tracker's own data plane: the clock reads `baseMs` at frame 0. */
function runPipeline(deliveries: readonly Delivery[], key: Buffer, baseMs: number): Run {
  const ts = new TestScheduler((a, b) => assert.equal(a, b));
  const run: Run = { replies: [], rounds: [] };
  const opened = openSqliteStore(':memory:');
  if (!opened.ok) throw new Error(opened.error);
  ts.run(() => {
    const clock: SchedulerLike = { now: () => baseMs + ts.now(), schedule: ts.schedule.bind(ts) };
    const repo = createRepository({ mirror: immediateMirror(opened.store), log: () => {} });
    // One virtual timer per datagram; timers due at the same frame run in the order they were made.
    const datagram$: Observable<Datagram> = merge(
      ...deliveries.map((d) =>
        timer(d.frame, ts).pipe(map((): Datagram => ({ data: d.data, from: { ...d.from, family: addressBytes(d.from.address)!.family } }))),
      ),
    );
    // A lone Master: the only voter, elected at once.
    const control$ = of<ConsensusInput<ClientProposal>[]>({ type: 'members', members: [1] }, { type: 'role', role: 'master', epoch: 1 });
    const plane$ = dataPlane(
      { datagram$, httpProposal$: NEVER, own$: NEVER, control$ },
      {
        self: 1,
        scheduler: ts,
        clock,
        repo,
        intervalS: SYNTHETIC.intervalS,
        batchMs: SYNTHETIC.batchMs,
        voteTimeoutMs: 500,
        clusterSize: 0,
        key: () => key,
        serving: () => true,
      },
    );
    plane$.subscribe((o) => {
      if (o.type === 'applied') run.rounds.push({ frame: ts.now(), size: o.size });
      if (o.type === 'udp') run.replies.push({ frame: ts.now(), to: o.to, data: o.data });
    });
  });
  opened.store.close();
  return run;
}

/** The trace's requests at their recorded times divided by `speed`; `rewrite` may change a datagram. */
function deliveriesOf(speed: number, rewrite: (p: UdpPacket, frame: number) => Buffer = (p) => p.payload): Delivery[] {
  return requests.map((p) => {
    const frame = (us(p) - startUs) / 1000 / speed;
    return { frame, data: rewrite(p, frame), from: p.src };
  });
}

const tidOf = (b: Buffer): number => b.readUInt32BE(4);

/** Same replies as recorded, in the same order: action, and the counts a tracker owes (not peer addresses). */
function assertSameReplies(run: Run, exactConnectIds: boolean): void {
  assert.is(run.replies.length, recordedReplies.length, 'number of replies');
  run.replies.forEach((got, i) => {
    const want = recordedReplies[i]!;
    const label = `reply ${i} to ${want.dst.address}:${want.dst.port}`;
    assert.equal([got.to.address, got.to.port, tidOf(got.data)], [want.dst.address, want.dst.port, tidOf(want.payload)], `${label}: order`);
    const g = decodeReply(got.data);
    const w = decodeReply(want.payload);
    assert.is(g.action, w.action, label);
    if (g.action === 'announce' && w.action === 'announce') {
      assert.equal([g.interval, g.seeders, g.leechers, g.peers.length], [w.interval, w.seeders, w.leechers, w.peers.length], label);
    } else if (g.action === 'scrape' && w.action === 'scrape') {
      assert.equal(g.entries, w.entries, label);
    } else if (g.action === 'connect' && exactConnectIds) {
      assert.ok(got.data.equals(want.payload), `${label}: same key, time and address make the same ID`);
    }
  });
}

test('recorded times, the recording key: the recorded replies, in order (connect IDs byte for byte)', () => {
  const run = runPipeline(deliveriesOf(1), SYNTHETIC.key, startUs / 1000);
  assertSameReplies(run, true);
  const errors = run.replies.map((r) => decodeReply(r.data)).filter((r) => r.action === 'error');
  assert.equal(
    errors.map((e) => e.action === 'error' && e.message),
    ['unknown action', 'too many info hashes (max 74)', 'connection ID expired'],
  );
});

test('announces within one batching window are committed in one round; replies leave at its close', () => {
  const run = runPipeline(deliveriesOf(1), SYNTHETIC.key, startUs / 1000);
  // Group the recorded announces that got an announce reply by window: a window opens at its first announce.
  const answered = new Set(recordedReplies.filter((p) => p.payload.readUInt32BE(0) === 1).map((p) => `${p.dst.port}|${tidOf(p.payload)}`));
  const windows: number[][] = [];
  let open = -Infinity;
  for (const p of requests) {
    if (p.payload.length < 16 || p.payload.readUInt32BE(8) !== 1 || !answered.has(`${p.src.port}|${p.payload.readUInt32BE(12)}`)) continue;
    const f = (us(p) - startUs) / 1000;
    if (f >= open + SYNTHETIC.batchMs) {
      windows.push([]);
      open = f;
    }
    windows.at(-1)!.push(f);
  }
  assert.equal(
    run.rounds.map((r) => r.size),
    windows.map((w) => w.length),
  );
  assert.ok(
    windows.some((w) => w.length === 6),
    'the trace has a burst of 6 announces',
  );
  for (const [i, r] of run.rounds.entries())
    assert.ok(Math.abs(r.frame - (windows[i]![0]! + SYNTHETIC.batchMs)) < 1e-6, `round ${i} closes batchMs after its first announce`);
  const burst = run.rounds.find((r) => r.size === 6)!;
  const burstReplies = run.replies.filter((r) => r.frame === burst.frame);
  assert.is(burstReplies.length, 6);
});

test('four times faster, another key: IDs minted with the ingress key at the replayed time give the same replies', () => {
  const key = randomBytes(32);
  const base = startUs / 1000;
  const expiredTid = recordedReplies.find((p) => decodeReply(p.payload).action === 'error' && p.payload.includes('expired'))!;
  const rewrite = (p: UdpPacket, frame: number): Buffer => {
    if (p.payload.length < 16 || p.payload.readUInt32BE(8) === 0) return p.payload;
    // The request refused for its ID keeps its recorded one: minted under another key, it is refused again.
    if (p.src.port === expiredTid.dst.port && p.payload.readUInt32BE(12) === tidOf(expiredTid.payload)) return p.payload;
    const out = Buffer.from(p.payload);
    out.writeBigUInt64BE(mintConnectionId(key, base + frame, addressBytes(p.src.address)!.ip), 0);
    return out;
  };
  const run = runPipeline(deliveriesOf(4, rewrite), key, base);
  assertSameReplies(run, false);
  const last = decodeReply(run.replies.find((r) => r.to.port === expiredTid.dst.port && tidOf(r.data) === tidOf(expiredTid.payload))!.data);
  assert.equal(last.action === 'error' && last.message, 'connection ID invalid');
});

test('a connection ID is accepted for 120 s and refused as expired 121 virtual seconds after it was minted', () => {
  // The first announce of the trace; its ID was minted (recorded connect) in the same second it was sent.
  const first = requests.find((p) => p.payload.length >= 98 && p.payload.readUInt32BE(8) === 1)!;
  const at = (us(first) - startUs) / 1000;
  const outcome = (laterMs: number, clockShiftMs = 0): string => {
    const run = runPipeline([{ frame: at + laterMs, data: first.payload, from: first.src }], SYNTHETIC.key, startUs / 1000 + clockShiftMs);
    assert.is(run.replies.length, 1);
    const r = decodeReply(run.replies[0]!.data);
    return r.action === 'error' ? r.message : r.action;
  };
  assert.is(outcome(0), 'announce');
  assert.is(outcome(120_000), 'announce');
  assert.is(outcome(121_000), 'connection ID expired');
  // On a clock one second behind the recording, the ID comes from the future.
  assert.is(outcome(0, -1_000), 'connection ID invalid');
});

test.run();
