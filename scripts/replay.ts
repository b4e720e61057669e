/**
 * Replays the client side of a recorded UDP tracker trace against a live tracker, and with --check compares
 * every reply with the recorded one.
 *
 *   node dist/scripts/replay.js TRACE --target udp://HOST:PORT [--speed X] [--check] [--tracker-port P]
 *        [--timeout MS] [--json]
 *
 * - The tracker port is --tracker-port, or else the most common destination port of the datagrams that decode
 *   as BEP 15 requests (a plain "most common destination port" ties when one client talks to the tracker).
 *   Requests are the datagrams sent to that port; replies, those sent from it, matched to the request of the
 *   same client endpoint and transaction ID (the earliest one still unanswered).
 * - Every recorded client endpoint gets its own socket, so the tracker sees as many clients as were recorded.
 * - Connection IDs are bound to the client's address and to time, so recorded ones are useless: recorded
 *   connect requests are re-sent as they are and their replies give the client its ID; an announce, scrape or
 *   any other request of 16 bytes or more gets the client's current ID written over its first 8 bytes, after a
 *   connect handshake of the replayer's own when the client has none younger than 60 s (BEP 15's client rule).
 *   Exception: a request whose recorded reply is an error about its connection ID is re-sent with its
 *   recorded (foreign) ID, so the replay is refused as the recording was.
 * - Timing: request i leaves at its recorded time after the first request divided by --speed (default 1),
 *   without waiting for replies (only a client's request that needs the ID of its connect waits for that).
 *   At a pace where a request overtakes the commit of an earlier announce (the tracker batches them for a
 *   few ms), what it sees can differ from the recording. --speed 0 is the mode for exact checks: requests
 *   leave in recorded order, each one whose recording has a reply waiting for its own (or --timeout).
 *
 * What --check compares (request by request, matched by client endpoint + transaction ID):
 * - the reply's action, always; a recorded request without a reply must get none;
 * - connect: nothing more (any ID);
 * - announce: the interval, always; seeders and leechers, and the number of peers returned, only where the
 *   recorded values are determined by the trace itself: the replayer rebuilds the swarms from the trace's
 *   announces, in the order their recorded replies came, with a small model of its own (see ModelSwarm).
 *   Recorded counts that differ from that model (peers already there before the
 *   recording, expiry during it, other clients) are not compared, and reported as such. The peer count must
 *   also be the same whether peers have their recorded addresses or the replayer's single local address
 *   (a peer never gets itself back, judged by address and announced port);
 * - scrape: the number of entries, always; each entry's seeders/completed/leechers where the recorded entry
 *   equals the model's;
 * - error: only that it is an error (texts differ between trackers).
 * A request whose recorded reply exists but which gets none within --timeout is a timeout. Exit status with
 * --check: 1 when anything mismatched or timed out; without it 0 once everything was sent. Bad usage: 2.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { addressBytes } from '../src/protocol/compact.js';
import { decodeRequest } from '../src/protocol/decode.js';
import { decodeReply, type Reply } from '../src/protocol/decode-reply.js';
import { encodeConnectRequest } from '../src/protocol/encode.js';
import type { AnnounceRequest, ScrapeEntry } from '../src/protocol/types.js';
import { effectiveNumWant } from '../src/domain/swarm.js';
import { readPcap, type UdpPacket } from '../src/trace/pcap.js';

export type Expectation =
  | { action: 'none' }
  | { action: 'any' }
  | { action: 'connect' }
  | { action: 'error' }
  | { action: 'announce'; interval: number; counts: { seeders: number; leechers: number } | null; peers: number | null }
  | { action: 'scrape'; entries: Array<ScrapeEntry | null> };

export type PlannedRequest = {
  readonly index: number;
  /** Seconds after the first request. */
  readonly t: number;
  readonly client: string;
  readonly data: Buffer;
  readonly tid: number | null;
  readonly kind: 'connect' | 'announce' | 'scrape' | 'other';
  /** Write the client's current connection ID over the first 8 bytes before sending. */
  substitute: boolean;
  expect: Expectation;
};

export type Plan = { trackerPort: number; clients: string[]; requests: PlannedRequest[]; strayReplies: number; notDetermined: number };

const endpointKey = (e: { address: string; port: number }): string => `${e.address}|${e.port}`;

/**
 * The swarms as the trace alone makes them, kept apart from the tracker's own code (src/domain) so that a bug
 * there cannot hide itself by also deciding what gets compared. Rules: a peer is its peer ID (whatever its
 * address); `stopped` removes it; seeders have left = 0; `completed` counts once per peer that was no seeder.
 */
type ModelPeer = { left: bigint; address: string; port: number; family: 4 | 6 };
type ModelSwarm = { peers: Map<string, ModelPeer>; completed: number };

function modelAnnounce(swarms: Map<string, ModelSwarm>, a: AnnounceRequest, from: ModelPeer): ModelSwarm {
  const key = a.infoHash.toString('hex');
  const s = swarms.get(key) ?? { peers: new Map<string, ModelPeer>(), completed: 0 };
  swarms.set(key, s);
  const id = a.peerId.toString('hex');
  const before = s.peers.get(id);
  if (a.event === 3) s.peers.delete(id);
  else {
    if (a.event === 1 && !(before && before.left === 0n)) s.completed++;
    s.peers.set(id, from);
  }
  return s;
}

function modelEntry(s: ModelSwarm | undefined): ScrapeEntry {
  const all = s ? [...s.peers.values()] : [];
  const seeders = all.filter((p) => p.left === 0n).length;
  return { seeders, completed: s?.completed ?? 0, leechers: all.length - seeders };
}

export function pickTrackerPort(packets: readonly UdpPacket[]): number | null {
  const tally = (ps: readonly UdpPacket[]): number | null => {
    const n = new Map<number, number>();
    for (const p of ps) n.set(p.dst.port, (n.get(p.dst.port) ?? 0) + 1);
    let best: number | null = null;
    for (const [port, c] of n) if (best === null || c > n.get(best)! || (c === n.get(best)! && port < best)) best = port;
    return best;
  };
  return tally(packets.filter((p) => decodeRequest(p.payload).ok)) ?? tally(packets);
}

/**
 * Trace → what to send and what to expect. `replayFamily` is the family of the replayer's sockets (that of the
 * target), which decides the peer-list format and whether a recorded peer count still holds.
 */
export function planReplay(packets: readonly UdpPacket[], replayFamily: 4 | 6, trackerPort?: number): Plan | { error: string } {
  const port = trackerPort ?? pickTrackerPort(packets);
  if (port === null) return { error: 'the trace holds no UDP datagrams' };
  const requests: PlannedRequest[] = [];
  const waiting = new Map<string, PlannedRequest[]>();
  const swarms = new Map<string, ModelSwarm>();
  let strayReplies = 0;
  let notDetermined = 0;
  const first = packets.find((p) => p.dst.port === port)?.t ?? 0;

  for (const p of packets) {
    if (p.dst.port === port) {
      const client = endpointKey(p.src);
      const d = decodeRequest(p.payload);
      const tid = p.payload.length >= 16 ? p.payload.readUInt32BE(12) : null;
      const r: PlannedRequest = {
        index: requests.length,
        t: p.t - first,
        client,
        data: p.payload,
        tid,
        kind: d.ok ? d.request.action : 'other',
        substitute: p.payload.length >= 16 && p.payload.readUInt32BE(8) !== 0,
        expect: { action: 'none' },
      };
      requests.push(r);
      if (tid !== null) waiting.set(`${client}|${tid}`, [...(waiting.get(`${client}|${tid}`) ?? []), r]);
      continue;
    }
    if (p.src.port !== port) continue;
    const reply = decodeReply(p.payload);
    const key = `${endpointKey(p.dst)}|${p.payload.length >= 8 ? p.payload.readUInt32BE(4) : -1}`;
    const r = waiting.get(key)?.shift();
    if (!r) {
      strayReplies++;
      continue;
    }
    const d = decodeRequest(r.data);
    const from = addressBytes(p.dst.address);
    if (reply.action === 'invalid' || !from) r.expect = { action: 'any' };
    else if (reply.action === 'connect') r.expect = { action: 'connect' };
    else if (reply.action === 'error') {
      r.expect = { action: 'error' };
      // Refused for its connection ID: keep the recorded (foreign) one so the replay is refused too.
      if (/connection id/i.test(reply.message)) r.substitute = false;
    } else if (reply.action === 'announce' && d.ok && d.request.action === 'announce') {
      const a = d.request;
      const sw = modelAnnounce(swarms, a, { left: a.left, address: p.dst.address, port: a.port, family: from.family });
      const counts = modelEntry(sw);
      const sameCounts = counts.seeders === reply.seeders && counts.leechers === reply.leechers;
      const width = from.family === 4 ? 6 : 18;
      const recordedPeers = reply.peers.length / width;
      // A peer never gets itself back: same address and announced port. Recorded, peers have their own
      // addresses and families; replayed, all have the replayer's one address, so only the port tells.
      const others = [...sw.peers.values()];
      const modelled = Math.min(
        effectiveNumWant(a.numWant, from.family),
        others.filter((q) => q.family === from.family && !(q.address === p.dst.address && q.port === a.port)).length,
      );
      const replayed = Math.min(effectiveNumWant(a.numWant, replayFamily), others.filter((q) => q.port !== a.port).length);
      const peersKnown = recordedPeers === modelled && modelled === replayed;
      notDetermined += (sameCounts ? 0 : 1) + (peersKnown ? 0 : 1);
      r.expect = {
        action: 'announce',
        interval: reply.interval,
        counts: sameCounts ? { seeders: counts.seeders, leechers: counts.leechers } : null,
        peers: peersKnown ? recordedPeers : null,
      };
    } else if (reply.action === 'scrape' && d.ok && d.request.action === 'scrape') {
      const hashes = d.request.infoHashes;
      r.expect = {
        action: 'scrape',
        entries: reply.entries.map((e, i) => {
          const m = hashes[i] ? modelEntry(swarms.get(hashes[i]!.toString('hex'))) : null;
          const same = m !== null && m.seeders === e.seeders && m.completed === e.completed && m.leechers === e.leechers;
          if (!same) notDetermined++;
          return same ? e : null;
        }),
      };
    } else r.expect = { action: 'any' };
  }
  const clients = [...new Set(requests.map((r) => r.client))];
  return { trackerPort: port, clients, requests, strayReplies, notDetermined };
}

/** null when the reply is what the expectation allows; otherwise what differs. */
export function compareReply(expect: Expectation, got: Buffer | null, replayFamily: 4 | 6): string | null {
  if (expect.action === 'none') return got ? 'a reply where the recording has none' : null;
  if (!got) return 'no reply';
  if (expect.action === 'any') return null;
  const r: Reply | { action: 'invalid'; reason: string } = decodeReply(got);
  if (r.action === 'invalid') return `undecodable reply: ${r.reason}`;
  if (r.action !== expect.action) return `expected ${expect.action}, got ${r.action}${r.action === 'error' ? ` "${r.message}"` : ''}`;
  if (expect.action === 'announce' && r.action === 'announce') {
    const diffs: string[] = [];
    if (r.interval !== expect.interval) diffs.push(`interval ${r.interval} ≠ ${expect.interval}`);
    if (expect.counts && (r.seeders !== expect.counts.seeders || r.leechers !== expect.counts.leechers)) {
      diffs.push(`seeders/leechers ${r.seeders}/${r.leechers} ≠ ${expect.counts.seeders}/${expect.counts.leechers}`);
    }
    const peers = r.peers.length / (replayFamily === 4 ? 6 : 18);
    if (expect.peers !== null && peers !== expect.peers) diffs.push(`peers ${peers} ≠ ${expect.peers}`);
    return diffs.length ? diffs.join(', ') : null;
  }
  if (expect.action === 'scrape' && r.action === 'scrape') {
    if (r.entries.length !== expect.entries.length) return `entries ${r.entries.length} ≠ ${expect.entries.length}`;
    const bad = expect.entries.findIndex((e, i) => e !== null && JSON.stringify(e) !== JSON.stringify(r.entries[i]));
    return bad < 0 ? null : `entry ${bad}: ${JSON.stringify(r.entries[bad])} ≠ ${JSON.stringify(expect.entries[bad])}`;
  }
  return null;
}

type Client = {
  socket: dgram.Socket;
  id: bigint | null;
  idAt: number;
  waiters: Map<number, Array<(b: Buffer) => void>>;
  recordedTids: Set<number>;
  nextTid: number;
  chain: Promise<void>;
};

export type ReplaySummary = {
  trace: string;
  trackerPort: number;
  clients: number;
  requests: number;
  sent: number;
  ownConnects: number;
  replies: number;
  timeouts: number;
  extraReplies: number;
  checked: boolean;
  matches: number;
  mismatches: string[];
  notDetermined: number;
  seconds: number;
};

export type ReplayOptions = { host: string; port: number; family: 4 | 6; speed: number; timeoutMs: number; check: boolean };

export async function replay(plan: Plan, o: ReplayOptions, trace = ''): Promise<ReplaySummary> {
  const started = performance.now();
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
  const localHost = o.family === 4 ? (o.host.startsWith('127.') ? '127.0.0.1' : undefined) : o.host === '::1' ? '::1' : undefined;
  let extraReplies = 0;
  let ownConnects = 0;
  const clients = new Map<string, Client>();
  for (const key of plan.clients) {
    const socket = dgram.createSocket(o.family === 4 ? 'udp4' : 'udp6');
    await new Promise<void>((r) => socket.bind(0, localHost, () => r()));
    const c: Client = {
      socket,
      id: null,
      idAt: 0,
      waiters: new Map(),
      nextTid: 1,
      chain: Promise.resolve(),
      recordedTids: new Set(plan.requests.filter((r) => r.client === key && r.tid !== null).map((r) => r.tid!)),
    };
    // A send that fails (no route, a closed port) shows up as a missing reply: counted, not fatal.
    socket.on('error', () => {});
    socket.on('message', (b) => {
      const list = c.waiters.get(b.length >= 8 ? b.readUInt32BE(4) : -1);
      if (list?.length) list.shift()!(b);
      else extraReplies++;
    });
    clients.set(key, c);
  }

  /** Send and wait for the reply with this transaction ID (null after the timeout). */
  const exchange = (c: Client, data: Buffer, tid: number | null): Promise<Buffer | null> =>
    new Promise((resolve) => {
      if (tid !== null) {
        const done = (b: Buffer | null): void => {
          clearTimeout(timer);
          const list = c.waiters.get(tid)!;
          const i = list.indexOf(done);
          if (i >= 0) list.splice(i, 1);
          if (b && b.length >= 16 && b.readUInt32BE(0) === 0) {
            c.id = b.readBigUInt64BE(8);
            c.idAt = performance.now();
          }
          resolve(b);
        };
        const timer = setTimeout(() => done(null), o.timeoutMs);
        c.waiters.set(tid, [...(c.waiters.get(tid) ?? []), done]);
      }
      c.socket.send(data, o.port, o.host);
      if (tid === null) resolve(null);
    });

  const freshId = async (c: Client): Promise<bigint | null> => {
    if (c.id !== null && performance.now() - c.idAt < 60_000) return c.id;
    while (c.recordedTids.has(c.nextTid)) c.nextTid++;
    const tid = c.nextTid++;
    ownConnects++;
    await exchange(c, encodeConnectRequest(tid), tid);
    return c.id !== null && performance.now() - c.idAt < 60_000 ? c.id : null;
  };

  const replies = new Array<Promise<Buffer | null>>(plan.requests.length);
  /** Resolves once the request is out (for a connect: once answered, as the next request needs its ID). */
  const sendOne = async (r: PlannedRequest): Promise<{ reply: Promise<Buffer | null> }> => {
    const c = clients.get(r.client)!;
    const data = Buffer.from(r.data);
    if (r.substitute) {
      const id = await freshId(c);
      if (id !== null) data.writeBigUInt64BE(id, 0);
    }
    const reply = exchange(c, data, r.tid);
    if (r.kind === 'connect') await reply;
    return { reply };
  };

  for (const r of plan.requests) {
    if (o.speed === 0) {
      replies[r.index] = sendOne(r).then((s) => s.reply);
      if (r.expect.action !== 'none') await replies[r.index];
      continue;
    }
    await sleep(started + (r.t * 1000) / o.speed - performance.now());
    // Open loop: requests leave on schedule without waiting for replies, one client's in its order (after
    // the connect that gives it an ID); other clients never wait for it.
    const c = clients.get(r.client)!;
    const sent = c.chain.then(() => sendOne(r));
    c.chain = sent.then(() => undefined);
    replies[r.index] = sent.then((s) => s.reply);
  }
  const got = await Promise.all(replies);
  for (const c of clients.values()) c.socket.close();

  const mismatches: string[] = [];
  let matches = 0;
  let timeouts = 0;
  plan.requests.forEach((r, i) => {
    const b = got[i] ?? null;
    if (!b && r.expect.action !== 'none') {
      timeouts++;
      return;
    }
    if (!o.check) return;
    const diff = compareReply(r.expect, b, o.family);
    if (diff === null) matches++;
    else mismatches.push(`#${r.index} ${r.kind} from ${r.client.replace('|', ':')} tid ${r.tid}: ${diff}`);
  });
  return {
    trace,
    trackerPort: plan.trackerPort,
    clients: plan.clients.length,
    requests: plan.requests.length,
    sent: plan.requests.length,
    ownConnects,
    replies: got.filter((b) => b).length,
    timeouts,
    extraReplies,
    checked: o.check,
    matches,
    mismatches,
    notDetermined: plan.notDetermined,
    seconds: (performance.now() - started) / 1000,
  };
}

async function main(): Promise<number> {
  const usage = 'usage: replay.js TRACE --target udp://HOST:PORT [--speed X] [--check] [--tracker-port P] [--timeout MS] [--json]';
  const readArgs = () =>
    parseArgs({
      allowPositionals: true,
      options: {
        target: { type: 'string' },
        speed: { type: 'string' },
        check: { type: 'boolean' },
        'tracker-port': { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
  let args: ReturnType<typeof readArgs>;
  try {
    args = readArgs();
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  const { values, positionals } = args;
  const bad = (why: string): number => {
    process.stderr.write(`error: ${why}\n${usage}\n`);
    return 2;
  };
  if (positionals.length !== 1) return bad('one trace file expected');
  const target = /^udp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(values.target ?? '');
  if (!target) return bad('--target udp://HOST:PORT is required');
  const speed = Number(values.speed ?? 1);
  const timeoutMs = Number(values.timeout ?? 2000);
  const trackerPort = values['tracker-port'] === undefined ? undefined : Number(values['tracker-port']);
  if (!Number.isFinite(speed) || speed < 0) return bad('--speed must be a number >= 0');
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) return bad('--timeout must be a positive integer (ms)');
  if (trackerPort !== undefined && !(Number.isInteger(trackerPort) && trackerPort > 0 && trackerPort < 65536))
    return bad('bad --tracker-port');
  const host = target[1]!.replace(/^\[|\]$/g, '');
  const port = Number(target[2]);
  let address = host;
  let family = isIP(host);
  if (family === 0) {
    try {
      ({ address, family } = await lookup(host));
    } catch (e) {
      process.stderr.write(`error: cannot resolve ${host}: ${(e as Error).message}\n`);
      return 1;
    }
  }

  const file = positionals[0]!;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return 1;
  }
  const read = readPcap(bytes);
  if (!read.ok) {
    process.stderr.write(`error: ${file}: ${read.error}\n`);
    return 1;
  }
  const fam = family === 6 ? 6 : 4;
  const plan = planReplay(read.packets, fam, trackerPort);
  if ('error' in plan) {
    process.stderr.write(`error: ${file}: ${plan.error}\n`);
    return 1;
  }
  const s = await replay(plan, { host: address, port, family: fam, speed, timeoutMs, check: Boolean(values.check) }, file);
  if (values.json) process.stdout.write(`${JSON.stringify({ ...s, skipped: read.skipped, strayReplies: plan.strayReplies })}\n`);
  else {
    const kinds = ['connect', 'announce', 'scrape', 'other']
      .map((k) => `${plan.requests.filter((r) => r.kind === k).length} ${k}`)
      .join(', ');
    process.stdout.write(
      [
        `trace ${file}: ${read.packets.length} UDP datagrams (${read.skipped} other packets skipped), tracker port ${plan.trackerPort}, ${s.clients} clients`,
        `requests ${s.requests} (${kinds}); sent ${s.sent} + ${s.ownConnects} own connects in ${s.seconds.toFixed(2)} s`,
        `replies ${s.replies}, timeouts ${s.timeouts}, unexpected replies ${s.extraReplies}`,
        ...(s.checked
          ? [
              `check: ${s.matches} matches, ${s.mismatches.length} mismatches; ${s.notDetermined} recorded values not determined by the trace (not compared)`,
              ...s.mismatches.map((m) => `  mismatch ${m}`),
            ]
          : []),
        '', // the last line ends with a newline too
      ].join('\n'),
    );
  }
  return s.checked && (s.mismatches.length > 0 || s.timeouts > 0) ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();
