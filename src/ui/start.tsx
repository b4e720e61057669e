/** Mounts the Ink UI on the real terminal. Loaded only when a terminal is attached. */
import { render } from 'ink';
import type { Observable } from 'rxjs';
import type { Config } from '../config/index.js';
import type { Host } from '../node/host.js';
import { App } from './app.js';

export function startUi(config: Config, host: Host, logs$: Observable<readonly string[]>, onQuit: () => void): () => void {
  const source = {
    status$: host.status$,
    live$: host.live$,
    swarms$: host.swarms$,
    peers$: host.peers$,
    now$: host.now$,
    charts$: host.charts$,
    rejected$: host.rejected$,
    transfers$: host.transfers$,
    logs$,
    // Quitting goes through the process's own shutdown so the repository is emptied exactly once.
    command: (c: Parameters<Host['command']>[0]) => (c.type === 'quit' ? onQuit() : host.command(c)),
  };
  const ui = render(<App config={config} source={source} />, { exitOnCtrlC: false });
  return () => ui.unmount();
}
