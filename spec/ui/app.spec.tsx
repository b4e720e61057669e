/** The Ink UI with ink-testing-library: frames of each tab, keys, paging, and commands sent back. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { render } from 'ink-testing-library';
import { BehaviorSubject, of } from 'rxjs';
import type { InstanceRow, PeerRow, Status, SwarmRow, UiCommand } from '../../src/node/host.js';
import { App, type UiSource } from '../../src/ui/app.js';
import { resolveConfig } from '../../src/config/index.js';

// Port 6969, group 239.192.0.1 on 127.0.0.1, db data/tracker-2.sqlite, keepalive 1000 ms: the defaults.
const config = resolveConfig({ id: 2, network: { host: '127.0.0.1' }, cluster: { broker: 'stomp://127.0.0.1:61613' } });
const running: Status = { running: true, role: 'slave', epoch: 3, master: 3, cut: false, error: null };
const entry = (id: number, role: InstanceRow['role'], lastSeen: number): InstanceRow => ({ id, role, epoch: 3, lastSeen });
const swarm = (i: number): SwarmRow => ({
  infoHash: i.toString(16).padStart(40, '0'),
  name: `content-${i}`,
  size: BigInt(i) * 1048576n,
  seeders: 1000 - i,
  leechers: i % 7,
  completed: i % 3,
});
// Let React apply state changes from input and streams before reading the frame.
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function fixture(swarmCount = 3) {
  const status$ = new BehaviorSubject<Status>(running);
  const live$ = new BehaviorSubject<readonly InstanceRow[]>([entry(1, 'slave', 9_000), entry(3, 'master', 8_500)]);
  const now$ = new BehaviorSubject(10_000);
  const swarms$ = new BehaviorSubject<readonly SwarmRow[]>(Array.from({ length: swarmCount }, (_, i) => swarm(i + 1)));
  const commands: UiCommand[] = [];
  const asked: string[] = [];
  const source: UiSource = {
    status$,
    live$,
    now$,
    swarms$,
    logs$: of(['12:00:00.000Z [tracker 2] role slave (epoch 3, master 3)']),
    peers$: (h) => {
      asked.push(h);
      return of<PeerRow[]>([
        { peerId: '-qB4650-abcdefghijkl', address: '10.0.0.7:51413', downloaded: 5n * 1048576n, left: 1024n, uploaded: 0n },
      ]);
    },
    command: (c) => commands.push(c),
  };
  const ui = render(<App config={config} source={source} />);
  return { ui, status$, live$, now$, swarms$, commands, asked };
}

test('Config tab: addresses, ports, ID, state, controls and the key legend', async () => {
  const { ui } = fixture();
  await settle();
  const f = ui.lastFrame()!;
  for (const s of [
    '1 Config',
    'Instance ID       2',
    '127.0.0.1:6969 (service address',
    '239.192.0.1:6969 on 127.0.0.1',
    'stomp://127.0.0.1:61613',
    'slave (epoch 3, master 3)',
    '[s] Stop the tracker',
    '[f] Simulate a lost connection',
    'role slave (epoch 3',
    '1-3: tabs',
    'q: quit',
  ]) {
    assert.ok(f.includes(s), `missing "${s}" in\n${f}`);
  }
  ui.unmount();
});

test('tabs switch with 1/2/3 and the arrow keys', async () => {
  const { ui } = fixture();
  await settle();
  ui.stdin.write('2');
  await settle();
  assert.match(ui.lastFrame()!, /Last keepalive/);
  ui.stdin.write('\u001B[C'); // right arrow
  await settle();
  assert.match(ui.lastFrame()!, /Content/);
  ui.stdin.write('\u001B[D'); // left arrow
  await settle();
  assert.match(ui.lastFrame()!, /Last keepalive/);
  ui.stdin.write('1');
  await settle();
  assert.match(ui.lastFrame()!, /Instance ID/);
  ui.unmount();
});

test('Trackers tab: every live instance, the Master marked, keepalive ages that tick with the clock', async () => {
  const { ui, now$ } = fixture();
  await settle();
  ui.stdin.write('2');
  await settle();
  let f = ui.lastFrame()!;
  assert.match(f, /1\s+Slave\s+3\s+1\.0 s/);
  assert.match(f, /2\s+Slave\s+3\s+this instance/);
  assert.match(f, /3\s+Master\s+3\s+1\.5 s/);
  now$.next(10_700);
  await settle();
  f = ui.lastFrame()!;
  assert.match(f, /1\s+Slave\s+3\s+1\.7 s/);
  assert.match(f, /3\s+Master\s+3\s+2\.2 s/);
  ui.unmount();
});

test("Swarms tab: rows, selection, Enter lists the selected swarm's peers", async () => {
  const { ui, asked } = fixture();
  await settle();
  ui.stdin.write('3');
  await settle();
  let f = ui.lastFrame()!;
  assert.match(f, /> content-1\s+1\.0 MiB\s+999\s+1\s+1/);
  ui.stdin.write('\u001B[B'); // down
  await settle();
  ui.stdin.write('\r');
  await settle();
  f = ui.lastFrame()!;
  assert.match(f, /> content-2/);
  assert.match(f, /Peers of content-2/);
  assert.match(f, /-qB4650-abcdefghijkl\s+10\.0\.0\.7:51413\s+5\.0 MiB\s+1\.0 KiB/);
  assert.equal(asked, [swarm(2).infoHash]);
  ui.unmount();
});

test('thousands of swarms are paged: PgDn moves a page, the counter follows', async () => {
  const { ui } = fixture(5000);
  await settle();
  ui.stdin.write('3');
  await settle();
  assert.match(ui.lastFrame()!, /swarm 1 of 5000, page 1 of 417/);
  assert.is(
    ui
      .lastFrame()!
      .split('\n')
      .filter((l) => l.includes('content-')).length,
    12,
  );
  ui.stdin.write('\u001B[6~'); // page down
  await settle();
  assert.match(ui.lastFrame()!, /swarm 13 of 5000, page 2 of 417/);
  assert.match(ui.lastFrame()!, /> content-13 /);
  ui.unmount();
});

test('s and f on the Config tab send Stop and simulate-failure commands; q quits', async () => {
  const { ui, commands, status$ } = fixture();
  await settle();
  ui.stdin.write('f');
  await settle();
  status$.next({ ...running, cut: true });
  await settle();
  assert.match(ui.lastFrame()!, /\[f\] End simulated failure/);
  ui.stdin.write('f');
  ui.stdin.write('s');
  ui.stdin.write('q');
  await settle();
  assert.equal(commands, [{ type: 'cut', on: true }, { type: 'cut', on: false }, { type: 'stop' }, { type: 'quit' }]);
  ui.unmount();
});

test.run();
