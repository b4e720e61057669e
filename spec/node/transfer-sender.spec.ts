/** The Master's transfer senders in virtual time: the window, one part per turn, acknowledgements, stalls, give-up. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type PartSource, type SentPart, STALL_MS, type TransferOutcome, transferSenders, WINDOW } from '../../src/node/transfer-sender.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** A source of `n` parts of 10 bytes, one record each; `stale` makes it report the repository replaced. */
function source(n: number, state = { stale: false }): PartSource {
  let made = 0;
  return {
    next: () => (state.stale ? null : { data: Buffer.alloc(10, made), records: 1, last: ++made === n }),
  };
}

function setup() {
  const clock = new ManualClock(0);
  const sent: SentPart[] = [];
  const ended: TransferOutcome[] = [];
  const senders = transferSenders({ scheduler: clock, send: (p) => sent.push(p) > 0, ended: (o) => ended.push(o) });
  const start = (to: number, n: number, transfer = 'aaaaaaaaaaaaaaaa', state = { stale: false }) =>
    senders.start({ to, transfer, kind: 'snapshot', seq: 5, total: n, source: source(n, state) });
  return { clock, sent, ended, senders, start };
}

test('at most a window of parts goes out unacknowledged, one per turn; each acknowledgement lets more go', () => {
  const { clock, sent, senders, start, ended } = setup();
  start(3, 20);
  assert.is(sent.length, 0, 'nothing in the turn of the request');
  clock.advance(0);
  assert.is(sent.length, WINDOW);
  assert.equal(
    sent.map((p) => p.part),
    [...Array(WINDOW).keys()],
  );
  senders.ack(3, 'aaaaaaaaaaaaaaaa', 3);
  clock.advance(0);
  assert.is(sent.length, WINDOW + 3);
  senders.ack(3, 'bbbbbbbbbbbbbbbb', 11); // another transfer's acknowledgement
  senders.ack(3, 'aaaaaaaaaaaaaaaa', 99); // beyond what was sent
  clock.advance(0);
  assert.is(sent.length, WINDOW + 3);
  for (let next = 4; next <= 20; next++) {
    senders.ack(3, 'aaaaaaaaaaaaaaaa', next);
    clock.advance(0);
  }
  assert.is(sent.length, 20);
  assert.ok(sent[19]!.last);
  assert.equal(
    ended.map((o) => [o.outcome, o.parts, o.records, o.bytes]),
    [['done', 20, 20, 200]],
  );
  assert.equal(senders.active(), []);
});

test('parts not acknowledged for a stall interval are sent again from the first missing one; silence ends it', () => {
  const { clock, sent, senders, start, ended } = setup();
  start(3, 5);
  clock.advance(0);
  assert.is(sent.length, 5);
  senders.ack(3, 'aaaaaaaaaaaaaaaa', 2);
  clock.advance(STALL_MS - 1);
  assert.is(sent.length, 5);
  clock.advance(1);
  assert.equal(
    sent.slice(5).map((p) => p.part),
    [2, 3, 4],
    'parts 2..4 again',
  );
  clock.advance(20_000);
  assert.equal(
    ended.map((o) => o.outcome),
    ['abandoned'],
  );
  const before = sent.length;
  clock.advance(10_000);
  assert.is(sent.length, before, 'nothing more once abandoned');
});

test('a new request of the same instance replaces its transfer; a stale source or stopAll ends them', () => {
  const { clock, sent, senders, start, ended } = setup();
  start(3, 50);
  clock.advance(0);
  start(3, 50, 'cccccccccccccccc');
  clock.advance(0);
  assert.is(sent.filter((p) => p.transfer === 'cccccccccccccccc').length, WINDOW);
  const state = { stale: false };
  start(4, 50, 'dddddddddddddddd', state);
  state.stale = true;
  clock.advance(0);
  start(5, 50);
  senders.stopAll();
  clock.advance(5000);
  assert.equal(
    ended.map((o) => [o.to, o.outcome]),
    [
      [3, 'replaced'],
      [4, 'abandoned'],
      [3, 'stopped'],
      [5, 'stopped'],
    ],
  );
});

test.run();
