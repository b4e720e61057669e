/**
 * Load for fault specs: clients announcing new peers through the service address, retrying until acknowledged;
 * every acknowledged peer ID is recorded (with the time it was acknowledged), and the consistency check that
 * every acknowledged announce is in every live repository, the repositories are equal and one Master leads.
 */
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { type ClusterCtx, eventually, holdsAll, type Node, peerIdsIn, settled } from './cluster.js';
import { openClient } from './udp-client.js';

type Ctx = Pick<ClusterCtx, 'clients'>;

export const alive = (n: Node): boolean => n.proc.child.exitCode === null && n.proc.child.signalCode === null;
/** The role an instance last logged. */
export const lastRole = (n: Node): string => [...n.proc.stderr().matchAll(/role (\w+)/g)].pop()?.[1] ?? 'none';

/**
 * Load: clients announcing new peers, retrying until acknowledged; every acknowledged peer ID is recorded.
 * `pause` lets the in-flight announces finish and holds the clients, so the repositories can be compared at rest.
 */
export function load(ctx: Ctx, port: number, acked: string[]) {
  let stop = false;
  let paused = false;
  let busy = 0;
  /** When each announce of `acked` was acknowledged (wall clock, ms), in the same order. */
  const ackedAt: number[] = [];
  const ih = randomBytes(20);
  const idle = async (): Promise<void> => {
    while (paused && !stop) await new Promise((r) => setTimeout(r, 20));
  };
  const run = (async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => openClient({ host: '127.0.0.1', port }, '127.0.0.1', 250)));
    ctx.clients.push(...clients);
    await Promise.all(
      clients.map(async (c) => {
        while (!stop) {
          await idle();
          busy++;
          const pid = randomBytes(20);
          for (let tries = 0; tries < 200 && !stop; tries++) {
            try {
              if ((await c.announce({ infoHash: ih, peerId: pid })).action === 'announce') {
                acked.push(pid.toString('hex'));
                ackedAt.push(Date.now());
                break;
              }
            } catch {
              await new Promise((r) => setTimeout(r, 50));
            }
          }
          busy--;
        }
      }),
    );
  })();
  return {
    ackedAt,
    async pause(): Promise<void> {
      paused = true;
      while (busy > 0) await new Promise((r) => setTimeout(r, 20));
    },
    resume(): void {
      paused = false;
    },
    stop: async () => {
      stop = true;
      await run;
    },
  };
}

export async function consistent(nodes: Node[], acked: readonly string[], what: string): Promise<void> {
  const live = nodes.filter(alive);
  const digests = await settled(live, holdsAll(acked));
  assert.ok(
    digests.every((d) => d === digests[0]),
    `${what}: live repositories differ`,
  );
  const held = peerIdsIn(live[0]!.db);
  assert.equal(
    acked.filter((p) => !held.has(p)),
    [],
    `${what}: acknowledged announces lost`,
  );
  const masters = await eventually(
    () => live.filter((n) => lastRole(n) === 'master').length,
    (m) => m === 1,
    10_000,
  );
  assert.is(masters, 1, `${what}: exactly one Master`);
}
