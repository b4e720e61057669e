/** The Trackers tab's memory: instances missing from the live list stay as down, with their last role and epoch. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Heard, type Member, trackMembers } from '../../src/domain/members.js';

const heard = (id: number, epoch = 2, lastSeen = 1000): Heard => ({ id, role: id === 3 ? 'master' : 'slave', epoch, lastSeen });
const live = (h: Heard): Member => ({ ...h, down: null });

test('table: live, gone, still gone, back', () => {
  const steps: readonly (readonly [now: number, heard: Heard[], expected: Member[]])[] = [
    [1000, [heard(3), heard(1)], [live(heard(1)), live(heard(3))]],
    // 3 (the Master) is missed at 5000: kept with its role and epoch, down since 5000.
    [5000, [heard(1, 2, 4900)], [live(heard(1, 2, 4900)), { ...heard(3), down: 5000 }]],
    // Still missing later: the time it went down does not move.
    [9000, [heard(1, 3, 8900)], [live(heard(1, 3, 8900)), { ...heard(3), down: 5000 }]],
    // Back in a newer epoch: live again, as heard.
    [12000, [heard(3, 4, 11900), heard(1, 4, 11950)], [live(heard(1, 4, 11950)), live(heard(3, 4, 11900))]],
    // Everyone gone (this instance cut off): all kept as down.
    [
      15000,
      [],
      [
        { ...heard(1, 4, 11950), down: 15000 },
        { ...heard(3, 4, 11900), down: 15000 },
      ],
    ],
  ];
  let rows: readonly Member[] = [];
  for (const [now, h, expected] of steps) {
    rows = trackMembers(rows, h, now);
    assert.equal(rows, expected, `at ${now}`);
  }
});

test('extra fields of the live entries are not copied into the rows', () => {
  const entry = { ...heard(2), synced: true, applied: 7 };
  assert.equal(trackMembers([], [entry], 0), [live(heard(2))]);
});

test.run();
