/** --torrents: registered .torrent files give swarms names and sizes; bad files are reported and skipped. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { asyncScheduler } from 'rxjs';
import { startTracker } from '../../src/node/tracker.js';
import { resolveConfig } from '../../src/config/index.js';
import { swarmRow } from '../../src/node/host.js';
import { getSwarm } from '../../src/domain/swarm.js';
import { multiFile, singleFile } from '../helpers/torrent-fixtures.js';
import { tempDir } from '../helpers/temp.js';
import { openClient } from '../helpers/udp-client.js';

test('registered torrents are committed with name and size; a garbage file is logged and skipped', async () => {
  const dir = tempDir('torrents');
  const one = singleFile('debian.iso', 658_505_728n);
  const two = multiFile('album');
  writeFileSync(join(dir.path, 'a.torrent'), one.buf);
  writeFileSync(join(dir.path, 'b.torrent'), two.buf);
  writeFileSync(join(dir.path, 'broken.torrent'), Buffer.from('d4:infoi3e'));
  const logs: string[] = [];
  const r = await startTracker(
    resolveConfig({
      id: 1,
      network: { host: '127.0.0.1', port: 0 },
      storage: { db: join(dir.path, 't.sqlite'), torrents: dir.path },
      policy: { intervalS: 60, peerTtlS: 120 },
      cluster: { batchMs: 1 },
    }),
    { scheduler: asyncScheduler, clock: asyncScheduler, key: randomBytes(32), log: (l) => logs.push(l) },
  );
  if (!r.ok) throw new Error(r.error);
  const t = r.tracker;
  try {
    assert.ok(
      logs.some((l) => l.includes('broken.torrent') && l.startsWith('skipping')),
      logs.join('\n'),
    );
    assert.ok(logs.includes(`registered 2 torrent(s) from ${dir.path}`));
    const c = await openClient({ host: '127.0.0.1', port: t.port });
    await c.announce({ infoHash: one.infoHash, left: 0n });
    await c.close();
    const row = swarmRow(t.repo.store, getSwarm(t.repo.store, one.infoHash)!);
    assert.equal([row.name, row.size, row.seeders], ['debian.iso', 658_505_728n, 1]);
    assert.equal(
      [
        swarmRow(t.repo.store, getSwarm(t.repo.store, two.infoHash)!).name,
        swarmRow(t.repo.store, getSwarm(t.repo.store, two.infoHash)!).size,
      ],
      ['album', two.size],
    );
    await t.sqlite.flush();
    assert.equal((await t.sqlite.counts()).torrents, 2, 'registrations are persisted like any commit');
  } finally {
    await t.stop();
    dir.remove();
  }
});

test.run();
