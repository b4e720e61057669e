/** The Ink UI with ink-testing-library: frames of each tab, keys, paging, and commands sent back. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { render } from 'ink-testing-library';
import { stripVTControlCharacters } from 'node:util';
import { BehaviorSubject, of } from 'rxjs';
import type { Sample } from '../../src/domain/rates.js';
import {
  type InstanceRow,
  type PeerRow,
  peerView,
  type Status,
  type SwarmRow,
  type TransferView,
  type UiCommand,
} from '../../src/node/host.js';
import { App, type UiSource } from '../../src/ui/app.js';
import { resolveConfig } from '../../src/config/index.js';

// Port 6969, group 239.192.0.1 on 127.0.0.1, db data/tracker-2.sqlite, keepalive 1000 ms: the defaults.
const config = resolveConfig({ id: 2, network: { host: '127.0.0.1' }, cluster: { broker: 'stomp://127.0.0.1:61613' } });
const running: Status = { running: true, role: 'slave', epoch: 3, master: 3, cut: false, error: null };
const entry = (id: number, role: InstanceRow['role'], lastSeen: number, down: number | null = null): InstanceRow => ({
  id,
  role,
  epoch: 3,
  lastSeen,
  down,
});
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
  const rejected$ = new BehaviorSubject<Record<string, number>>({ 'bad-tag': 0, replayed: 0 });
  const transfers$ = new BehaviorSubject<TransferView>({ receiving: null, sending: [] });
  const source: UiSource = {
    status$,
    live$,
    rejected$,
    transfers$,
    now$,
    swarms$,
    logs$: of(['12:00:00.000Z [tracker 2] role slave (epoch 3, master 3)']),
    peers$: (h) => {
      asked.push(h);
      return of(
        peerView([
          {
            peerId: '-qB4650-abcdefghijkl',
            client: 'qBittorrent 4.6.5',
            family: 'qBittorrent',
            address: '10.0.0.7:51413',
            downloaded: 5n * 1048576n,
            left: 1024n,
            uploaded: 0n,
          },
        ]),
      );
    },
    command: (c) => commands.push(c),
  };
  const ui = render(<App config={config} source={source} />);
  return { ui, status$, live$, now$, swarms$, rejected$, transfers$, commands, asked };
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

test('Trackers tab: refused cluster messages by reason, only those seen', async () => {
  const { ui, rejected$ } = fixture();
  await settle();
  ui.stdin.write('2');
  await settle();
  assert.match(ui.lastFrame()!, /no cluster message refused/);
  rejected$.next({ 'bad-tag': 1, replayed: 24, 'unknown-sender': 0 });
  await settle();
  assert.match(ui.lastFrame()!, /refused: bad tag 1 · replayed 24;/);
  assert.not.match(ui.lastFrame()!, /unknown sender/);
  ui.unmount();
});

test('Trackers tab: a state transfer under way, received here or sent by this Master, with its progress', async () => {
  const { ui, status$, live$, transfers$ } = fixture();
  await settle();
  ui.stdin.write('2');
  await settle();
  assert.not.match(ui.lastFrame()!, /syncing|receiving|sending/);
  status$.next({ ...running, role: 'syncing' });
  transfers$.next({ receiving: { peer: 3, kind: 'snapshot', records: 450_000, total: 1_000_000 }, sending: [] });
  await settle();
  let f = ui.lastFrame()!;
  assert.match(f, /2\s+syncing 45%\s+3\s+this instance/);
  assert.match(f, /receiving from instance 3: snapshot: 450k of 1000k records \(45%\)/);
  // As the Master: instance 1 takes its state from us.
  status$.next({ ...running, role: 'master', master: 2 });
  live$.next([entry(1, 'syncing', 9_000)]);
  transfers$.next({ receiving: null, sending: [{ peer: 1, kind: 'log', records: 12, total: 40 }] });
  await settle();
  f = ui.lastFrame()!;
  assert.match(f, /1\s+syncing 30%/);
  assert.match(f, /sending instance 1 its rounds from the log: 12 of 40 records \(30%\)/);
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

// ---- At 80×24 and on resize ----------------------------------------------------------------------------------

type Ui = ReturnType<typeof render>;
/** Give ink-testing-library's stream (100 columns, no rows) a terminal size and tell the app it was resized. */
async function resize(ui: Ui, columns: number, rows: number): Promise<void> {
  Object.defineProperty(ui.stdout, 'columns', { value: columns, configurable: true });
  Object.defineProperty(ui.stdout, 'rows', { value: rows, configurable: true });
  ui.stdout.emit('resize');
  await settle();
}
/** The frame's lines without colour codes. */
const lines = (ui: Ui): string[] => stripVTControlCharacters(ui.lastFrame()!).split('\n');
function fits(ui: Ui, columns: number, rows: number, what: string): string {
  const ls = lines(ui);
  for (const l of ls) assert.ok([...l].length <= columns, `${what}: a line of ${[...l].length} > ${columns} columns:\n${l}`);
  assert.ok(ls.length < rows, `${what}: ${ls.length} lines do not fit in ${rows} rows:\n${ls.join('\n')}`);
  return ls.join('\n');
}

const LONG_NAME = `${'A very long release name with many words '.repeat(5)}END`.slice(0, 200);
const client = (peerId: string, name: string, family: string, i: number): PeerRow => ({
  peerId,
  client: name,
  family,
  address: `[2001:db8:85a3::8a2e:370:${(0x7000 + i).toString(16)}]:51413`,
  downloaded: BigInt(i) * 1048576n,
  left: 1073741824n,
  uploaded: 0n,
});
/** 30 peers: 14 qBittorrent, 9 Transmission, 4 libtorrent, 3 unknown; IPv6 addresses longer than their column. */
const PEERS: readonly PeerRow[] = Array.from({ length: 30 }, (_, i) =>
  i < 14
    ? client(`-qB4650-${String(i).padStart(12, 'x')}`, 'qBittorrent 4.6.5', 'qBittorrent', i)
    : i < 23
      ? client(`-TR4060-${String(i).padStart(12, 'y')}`, 'Transmission 4.0.6', 'Transmission', i)
      : i < 27
        ? client(`-LT2080-${String(i).padStart(12, 'z')}`, 'libtorrent 2.0.8', 'libtorrent', i)
        : client(`.kXl.o\\h.cPd.gT\`.{${i}`, 'unknown', 'other', i),
);
const SAMPLES: readonly Sample[] = Array.from({ length: 75 }, (_, i) => ({
  udp: i * 10,
  http: i % 2,
  commitMs: i % 5 === 0 ? null : 2 + (i % 3),
  live: i < 40 ? 3 : 2,
}));

function wide(columns: number, rows: number) {
  const f = fixture(40);
  const big: SwarmRow = {
    infoHash: 'f'.repeat(40),
    name: LONG_NAME,
    size: 123456789012345n,
    seeders: 1234567,
    leechers: 7654321,
    completed: 999999,
  };
  f.swarms$.next([big, ...f.swarms$.value]);
  f.live$.next([entry(1, 'slave', 9_000), entry(3, 'master', 4_000, 6_000), entry(12, 'slave', 9_900)]);
  return { ...f, columns, rows };
}

test('80×24: every tab fits (no line wider than 80, fewer than 24 lines), with a 200-character name, peers and charts', async () => {
  const status$ = new BehaviorSubject<Status>({ ...running, error: 'x'.repeat(300) });
  const f = wide(80, 24);
  f.ui.unmount();
  const source: UiSource = {
    status$,
    live$: f.live$,
    now$: f.now$,
    swarms$: f.swarms$,
    charts$: of(SAMPLES),
    logs$: of(Array.from({ length: 8 }, (_, i) => `12:00:0${i}.000Z [tracker 2] ${'a long log line '.repeat(8)}${i}`)),
    peers$: (_h, page) => of(peerView(PEERS, page)),
    command: () => {},
  };
  const ui = render(<App config={{ ...config, storage: { db: `/tmp/${'deep/'.repeat(30)}t.sqlite` } }} source={source} />);
  await resize(ui, 80, 24);

  let frame = fits(ui, 80, 24, 'Config');
  assert.match(frame, /Instance ID {7}2/);
  assert.match(frame, /Repository {8}\/tmp\/deep\/.*…/);
  assert.match(frame, /Error {13}x+…/);
  assert.match(frame, /12:00:07\.000Z/, 'the latest log line is shown');

  ui.stdin.write('2');
  await settle();
  frame = fits(ui, 80, 24, 'Trackers');
  assert.match(frame, /^ID\s+Role\s+Epoch\s+Last keepalive/m);
  assert.match(frame, /^3\s+Master\s+3\s+down since 00:00:06Z \(4\.0 s\)/m);
  assert.match(frame, /^12\s+Slave\s+3\s+0\.1 s/m);
  assert.match(frame, /3 live instance\(s\), 1 down/);
  // The last 60 of 75 samples, newest on the right, scaled from 0 to the largest shown: UDP climbs from 150 (▂)
  // to 740 (█); seconds without a commit are gaps; the latest value closes each line.
  assert.match(frame, /^UDP req\/s {3}▂[▂-█]{58}█ {4}740$/m);
  assert.match(frame, /^HTTP req\/s {2}[▁█]{60} {6}0$/m);
  assert.match(frame, /^Commit ms {3}(?=.* )[ ▅▆█]{60} {6}4$/m);
  assert.match(frame, /^Live {8}█{25}▆{35} {6}2$/m);

  ui.stdin.write('3');
  await settle();
  frame = fits(ui, 80, 24, 'Swarms');
  assert.match(frame, /^ {2}Content\s+Size\s+Seeders\s+Leechers\s+Done$/m);
  assert.match(frame, /^> A very long release name.{18}…\s+112\.3 TiB 1234567 {2}7654321 999999$/m);
  assert.match(frame, /^ {2}content-1\s+1\.0 MiB\s+999\s+1\s+1$/m);
  assert.match(frame, /swarm 1 of 41, page 1 of 4/);

  ui.stdin.write('\r');
  await settle();
  frame = fits(ui, 80, 24, 'Swarms with peers');
  assert.match(frame, /^Peers of A very long release name.*…$/m);
  assert.match(frame, /^30 peers: qBittorrent 14 · Transmission 9 · libtorrent 4 · other 3$/m);
  assert.match(frame, /^ {2}Client\s+Peer ID\s+Address\s+Downloaded\s+Left$/m);
  // The raw ID gives way to the address; an IPv6 address too long for its column is cut in the middle.
  assert.match(frame, /^ {2}qBittorrent 4\.6\.5 {4}-qB4650-… \[2001:db8:85…:7000\]:51413 {8}0 B {4}1\.0 GiB$/m);
  assert.match(frame, /^ {2}qBittorrent 4\.6\.5 .*10\.0 MiB {4}1\.0 GiB$/m);
  assert.match(frame, /… and 19 more/);
  ui.unmount();
});

test('on resize the columns re-fit: narrow terminals drop Done, then Size, then Leechers; wide ones get them back', async () => {
  const { ui } = wide(80, 24);
  await settle();
  ui.stdin.write('3');
  await resize(ui, 80, 24);
  assert.match(lines(ui)[2]!, /^ {2}Content\s+Size\s+Seeders\s+Leechers\s+Done$/);
  await resize(ui, 50, 24);
  fits(ui, 50, 24, 'Swarms at 50');
  assert.match(lines(ui)[2]!, /^ {2}Content\s+Size\s+Seeders\s+Leechers$/);
  await resize(ui, 40, 24);
  fits(ui, 40, 24, 'Swarms at 40');
  assert.match(lines(ui)[2]!, /^ {2}Content\s+Seeders\s+Leechers$/);
  await resize(ui, 30, 24);
  fits(ui, 30, 24, 'Swarms at 30');
  assert.match(lines(ui)[2]!, /^ {2}Content\s+Seeders$/);
  assert.match(ui.lastFrame()!, /> A very long release… 1234567/);
  await resize(ui, 120, 40);
  fits(ui, 120, 40, 'Swarms at 120');
  assert.match(lines(ui)[2]!, /^ {2}Content\s+Size\s+Seeders\s+Leechers\s+Done$/);
  assert.match(ui.lastFrame()!, /> A very long release name.{39}…\s+112\.3 TiB/);
  for (const key of ['1', '2']) {
    ui.stdin.write(key);
    await resize(ui, 40, 24);
    fits(ui, 40, 24, `tab ${key} at 40`);
  }
  ui.unmount();
});

test.run();
