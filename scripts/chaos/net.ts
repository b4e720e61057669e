/**
 * Where the chaos run's trackers live. `loopback`: every process on 127.0.0.1, the service address is
 * 127.0.0.1:PORT (the README's one-host cluster); no partitions. `netns`: each tracker in a network namespace of
 * its own, joined by a veth pair to a bridge in the root namespace, where the broker pair and the clients are;
 * the service address is a floating address (on every namespace's lo, so any instance can bind it when it
 * becomes Master) that the run routes to the instance that last logged `holding the service address`, as a
 * keepalived-like mover would; a partition sets the root end of an instance's veth down (broker and clients
 * gone for it), a heal sets it up again. Needs root and iproute2.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { freeUdpPort } from '../../spec/helpers/process.js';

export type Net = {
  readonly kind: 'loopback' | 'netns';
  readonly brokerHost: string;
  readonly serviceHost: string;
  readonly port: number;
  /** Command prefix that runs a tracker in its place (same pid: signals reach it). */
  prefix(id: number): string[];
  /** Flags that place a tracker. */
  args(id: number): string[];
  /** Route the service address to this instance (netns; no-op on loopback). */
  follow(id: number): void;
  cut(id: number): void;
  heal(id: number): void;
  teardown(): void;
};

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

export function netnsAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function loopbackNet(): Promise<Net> {
  const port = await freeUdpPort();
  return {
    kind: 'loopback',
    brokerHost: '127.0.0.1',
    serviceHost: '127.0.0.1',
    port,
    prefix: () => [],
    args: () => [],
    follow: () => {},
    cut: () => {
      throw new Error('partitions need the netns topology');
    },
    heal: () => {},
    teardown: () => {},
  };
}

export function netnsNet(ids: readonly number[]): Net {
  const tag = randomBytes(2).toString('hex');
  // A subnet of its own per run (10.79.20–219.0/24), so a leftover of a crashed run cannot collide.
  const net = `10.79.${(randomBytes(1)[0]! % 200) + 20}`;
  const bridge = `chb-${tag}`;
  const ns = (i: number): string => `chn${i}-${tag}`;
  const veth = (i: number): string => `chv${i}-${tag}`;
  const addr = (i: number): string => `${net}.${10 + i}`;
  const hub = `${net}.1`;
  const vip = `${net}.100`;
  const made: Array<() => void> = [];
  const teardown = (): void => {
    for (const undo of made.reverse()) {
      try {
        undo();
      } catch {
        /* already gone */
      }
    }
    made.length = 0;
  };
  try {
    ip('link', 'add', bridge, 'type', 'bridge', 'mcast_snooping', '0');
    made.push(() => ip('link', 'del', bridge));
    ip('addr', 'add', `${hub}/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    for (const i of ids) {
      ip('netns', 'add', ns(i));
      made.push(() => ip('netns', 'del', ns(i))); // deleting a namespace deletes its veth pair too
      ip('-n', ns(i), 'link', 'set', 'lo', 'up');
      ip('-n', ns(i), 'addr', 'add', `${vip}/32`, 'dev', 'lo');
      ip('link', 'add', veth(i), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(i));
      ip('link', 'set', veth(i), 'master', bridge, 'up');
      ip('-n', ns(i), 'addr', 'add', `${addr(i)}/24`, 'dev', 'eth0');
      ip('-n', ns(i), 'link', 'set', 'eth0', 'up');
      ip('-n', ns(i), 'route', 'add', '224.0.0.0/4', 'dev', 'eth0');
    }
    made.push(() => ip('route', 'del', `${vip}/32`));
  } catch (e) {
    teardown();
    throw e;
  }
  return {
    kind: 'netns',
    brokerHost: hub,
    serviceHost: vip,
    port: 6969,
    prefix: (i) => ['ip', 'netns', 'exec', ns(i)],
    args: (i) => ['--iface', addr(i), '--host', vip],
    follow: (i) => ip('route', 'replace', `${vip}/32`, 'via', addr(i)),
    cut: (i) => ip('link', 'set', veth(i), 'down'),
    heal: (i) => ip('link', 'set', veth(i), 'up'),
    teardown,
  };
}
