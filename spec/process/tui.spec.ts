/** The real binary in a real pseudo-terminal (tmux): it renders, switches tabs, shows swarms, quits cleanly. */
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
    '120',
    '-y',
    '40',
    `${process.execPath} dist/main.js --id 8 --host 127.0.0.1 --port ${port} --db ${db}; echo "EXIT=$?"; sleep 60`,
  );
  await shows(/tracker 8\s+1 Config\s+2 Trackers\s+3 Swarms\s+master/);
  await shows(/Instance ID\s+8/);
  const c = await openClient({ host: '127.0.0.1', port });
  const ih = Buffer.alloc(20, 0xab);
  await c.announce({ infoHash: ih, left: 0n });
  await c.close();
  tmux('send-keys', '-t', session, '2');
  await shows(/8\s+Master\s+1\s+this instance/);
  tmux('send-keys', '-t', session, '3');
  await shows(/> abababababababababababababababababababab\s+\?\s+1\s+0/);
  tmux('send-keys', '-t', session, 'Enter');
  await shows(/127\.0\.0\.1:\d+/);
  tmux('send-keys', '-t', session, 'q');
  await shows(/EXIT=0/);
});

test.run();
