/**
 * The real binary in a real 80×24 pseudo-terminal (tmux): it renders every tab within the screen (no line wraps,
 * the legend stays on the last lines), switches tabs, shows swarms and peers' clients, charts, quits cleanly.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { eventually } from '../helpers/cluster.js';
import { freeUdpPort } from '../helpers/process.js';
import { tempDir } from '../helpers/temp.js';
import { openClient } from '../helpers/udp-client.js';

const session = `tui-${randomBytes(3).toString('hex')}`;
const tmux = (...args: string[]): string => execFileSync('tmux', args, { encoding: 'utf8' });
const screen = (): string => tmux('capture-pane', '-p', '-t', session);
const test = suite<{ dir: ReturnType<typeof tempDir> }>('tui', { dir: tempDir('tui') });
test.after((ctx) => {
  try {
    tmux('kill-session', '-t', session);
  } catch {
    /* already gone */
  }
  ctx.dir.remove();
});

/** Every tab: the title on the first line, the key legend below the tab and nothing pushed off the screen. */
function fitsScreen(s: string): void {
  const lines = s.replace(/\n+$/, '').split('\n');
  assert.ok(lines.length <= 24, `${lines.length} lines`);
  assert.match(lines[0]!, /^tracker 8 {2}1 Config/, `the title bar scrolled away:\n${s}`);
  assert.match(lines.at(-1)!, /q: quit/, `the legend is not the last line:\n${s}`);
  for (const l of lines) assert.ok([...l].length <= 80, `too wide: ${l}`);
}

async function shows(re: RegExp): Promise<string> {
  const s = await eventually(screen, (text) => re.test(text), 8000);
  if (!re.test(s)) console.error(`the terminal showed:\n${s}`);
  assert.match(s, re);
  return s;
}

test('renders the tabs in a terminal, follows the keys, lists announced swarms and quits with status 0', async (ctx) => {
  const port = await freeUdpPort();
  const db = join(ctx.dir.path, 'tui.sqlite');
  tmux(
    'new-session',
    '-d',
    '-s',
    session,
    '-x',
    '80',
    '-y',
    '24',
    `${process.execPath} dist/main.js --id 8 --host 127.0.0.1 --port ${port} --db ${db}; echo "EXIT=$?"; sleep 60`,
  );
  fitsScreen(await shows(/tracker 8\s+1 Config\s+2 Trackers\s+3 Swarms\s+master/));
  fitsScreen(await shows(/Instance ID\s+8/));
  const c = await openClient({ host: '127.0.0.1', port });
  const ih = Buffer.alloc(20, 0xab);
  await c.announce({ infoHash: ih, left: 0n, peerId: Buffer.from('-qB4650-abcdefghijkl') });
  await c.announce({ infoHash: ih, left: 5n, peerId: Buffer.from('-TR4060-abcdefghijkl') });
  await c.close();
  tmux('send-keys', '-t', session, '2');
  await shows(/8\s+Master\s+1\s+this instance/);
  // The charts move: UDP requests in the last minute, a latest commit latency, one live instance.
  const charts = await shows(/UDP req\/s +[▁-█ ]*[▂-█][▁-█ ]* +\d/);
  assert.match(charts, /^Live +[▁-█ ]*█ +1$/m);
  fitsScreen(charts);
  tmux('send-keys', '-t', session, '3');
  fitsScreen(await shows(/> abababababababababababababababababababab\s+5 B\s+1\s+1\s+0/));
  tmux('send-keys', '-t', session, 'Enter');
  const peers = await shows(/2 peers: Transmission 1 · qBittorrent 1|2 peers: qBittorrent 1 · Transmission 1/);
  assert.match(peers, /qBittorrent 4\.6\.5\s+-qB4650-\S*\s+127\.0\.0\.1:\d+/);
  assert.match(peers, /Transmission 4\.0\.6\s+-TR4060-\S*\s+127\.0\.0\.1:\d+/);
  fitsScreen(peers);
  tmux('send-keys', '-t', session, 'q');
  await shows(/EXIT=0/);
});

test.run();
