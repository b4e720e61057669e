/**
 * The terminal UI: three tabs over the host's streams, a key legend, and commands back to the host. Every tab is
 * laid out for the terminal's current size (80×24 and up) and again on each resize; no line is wider than it.
 */
import { Box, Text, useApp, useInput } from 'ink';
import { useMemo, useState } from 'react';
import { EMPTY, type Observable } from 'rxjs';
import type { Sample } from '../domain/rates.js';
import type { InstanceRow, PeerView, Status, SwarmRow, TransferView, UiCommand } from '../node/host.js';
import { ConfigTab, type UiConfig } from './config-tab.js';
import { PAGE, SwarmsTab } from './swarms-tab.js';
import { TrackersTab } from './trackers-tab.js';
import { useObservable } from './use-observable.js';
import { useTerminalSize } from './use-terminal-size.js';

export type UiSource = {
  readonly status$: Observable<Status>;
  readonly live$: Observable<readonly InstanceRow[]>;
  readonly swarms$: Observable<readonly SwarmRow[]>;
  peers$(infoHash: string, page: number): Observable<PeerView>;
  readonly now$: Observable<number>;
  /** The Trackers tab's charts; without it they stay empty. */
  readonly charts$?: Observable<readonly Sample[]>;
  /** Cluster messages refused on arrival, by reason; without it the Trackers tab leaves them out. */
  readonly rejected$?: Observable<Readonly<Partial<Record<string, number>>>>;
  /** State transfers under way; without it the Trackers tab shows none. */
  readonly transfers$?: Observable<TransferView>;
  readonly logs$: Observable<readonly string[]>;
  command(c: UiCommand): unknown;
};

const TABS = ['Config', 'Trackers', 'Swarms'] as const;
/** Lines around a tab: the title bar, the blank lines above and below the tab, the key legend, and one spare so
 * the frame never reaches the terminal's last line (which would scroll it). */
const CHROME_LINES = 5;
const NO_TRANSFERS: TransferView = { receiving: null, sending: [] };
const NO_PEERS: PeerView = { total: 0, clients: [], rows: [] };
const STOPPED: Status = { running: false, role: 'stopped', epoch: 0, master: null, cut: false, error: null };

export function App({ config, source }: { config: UiConfig; source: UiSource }) {
  const { exit } = useApp();
  const [tab, setTab] = useState(0);
  const [selected, setSelected] = useState(0);
  const [open, setOpen] = useState(false);
  const status = useObservable(source.status$, STOPPED);
  const live = useObservable(source.live$, []);
  const now = useObservable(source.now$, 0);
  const logs = useObservable(source.logs$, []);
  const { columns, rows } = useTerminalSize();
  const height = Math.max(1, rows - CHROME_LINES);
  const rejected = useObservable(
    useMemo(() => (tab === 1 && source.rejected$ ? source.rejected$ : EMPTY), [tab, source]),
    {},
  );
  const transfers = useObservable(
    useMemo(() => (tab === 1 && source.transfers$ ? source.transfers$ : EMPTY), [tab, source]),
    NO_TRANSFERS,
  );
  const charts = useObservable(
    useMemo(() => (tab === 1 && source.charts$ ? source.charts$ : EMPTY), [tab, source]),
    [],
  );
  // Swarms are sampled only while their tab is shown: other tabs cost the tracker nothing.
  const swarms = useObservable(
    useMemo(() => (tab === 2 ? source.swarms$ : EMPTY), [tab, source]),
    [],
  );
  const chosen = swarms[Math.min(selected, swarms.length - 1)];
  const chosenHash = chosen?.infoHash;
  const peers = useObservable(
    useMemo(() => (tab === 2 && open && chosenHash ? source.peers$(chosenHash, PAGE) : EMPTY), [tab, open, chosenHash, source]),
    NO_PEERS,
  );

  useInput((input, key) => {
    if (input === 'q' || (key.ctrl && input === 'c')) {
      void Promise.resolve(source.command({ type: 'quit' })).then(() => exit());
      return;
    }
    if (key.leftArrow) setTab((t) => (t + TABS.length - 1) % TABS.length);
    else if (key.rightArrow || key.tab) setTab((t) => (t + 1) % TABS.length);
    else if (input >= '1' && input <= '3') setTab(Number(input) - 1);
    else if (tab === 0 && input === 's') source.command({ type: status.running ? 'stop' : 'start' });
    else if (tab === 0 && input === 'f' && status.running) source.command({ type: 'cut', on: !status.cut });
    else if (tab === 2) {
      const last = Math.max(0, swarms.length - 1);
      if (key.downArrow) setSelected((i) => Math.min(last, i + 1));
      else if (key.upArrow) setSelected((i) => Math.max(0, i - 1));
      else if (key.pageDown) setSelected((i) => Math.min(last, i + PAGE));
      else if (key.pageUp) setSelected((i) => Math.max(0, i - PAGE));
      else if (key.return) setOpen((o) => !o);
      else if (key.escape) setOpen(false);
    }
  });

  const legend = [
    '←/→ or 1-3: tabs',
    tab === 0 ? 's: start/stop · f: simulate failure' : '',
    tab === 2 ? '↑/↓ PgUp/PgDn: select · Enter: peers' : '',
    'q: quit',
  ]
    .filter(Boolean)
    .join(' · ');
  return (
    <Box flexDirection="column" width={columns}>
      <Text wrap="truncate-end">
        <Text bold>tracker {config.id} </Text>
        {TABS.map((name, i) => (
          <Text key={name} inverse={i === tab}>{` ${i + 1} ${name} `}</Text>
        ))}
        <Text color={status.role === 'master' ? 'green' : 'yellow'}>
          {' '}
          {status.running ? (status.cut ? 'cut off' : status.role) : 'stopped'}
        </Text>
      </Text>
      <Box marginY={1} flexDirection="column">
        {tab === 0 ? <ConfigTab config={config} status={status} logs={logs} height={height} /> : null}
        {tab === 1 ? (
          <TrackersTab
            self={config.id}
            status={status}
            live={live}
            now={now}
            charts={charts}
            rejected={rejected}
            transfers={transfers}
            width={columns}
            height={height}
          />
        ) : null}
        {tab === 2 ? (
          <SwarmsTab
            swarms={swarms}
            selected={Math.min(selected, Math.max(0, swarms.length - 1))}
            peers={peers}
            open={open}
            width={columns}
            height={height}
          />
        ) : null}
      </Box>
      <Text color="gray" wrap="truncate-end">
        {legend}
      </Text>
    </Box>
  );
}
