/**
 * Writes the synthetic swarm trace (spec/fixtures/synthetic-swarm.pcap): 20 clients on 127.0.0.11-30 and a
 * tracker on 127.0.0.1:6969, 3 swarms, about three minutes of connects, announces (started, a burst inside one
 * batching window, completed, stopped), scrapes and four refused requests, with the replies a BEP 15 tracker
 * owes them. The replies come from a small model written here, not from the tracker's code, so replaying the
 * trace checks the tracker against an independent account of the protocol. Connection IDs are minted with
 * SYNTHETIC_KEY at the recorded times: a tracker holding that key accepts the trace unchanged, on its clock.
 *
 *   node dist/scripts/make-trace.js [OUT.pcap]      (default spec/fixtures/synthetic-swarm.pcap)
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { addressBytes } from '../src/protocol/compact.js';
import { mintConnectionId } from '../src/protocol/connection-id.js';
import {
  encodeAnnounceReply,
  encodeAnnounceRequest,
  encodeConnectReply,
  encodeConnectRequest,
  encodeErrorReply,
  encodeScrapeReply,
  encodeScrapeRequest,
} from '../src/protocol/encode.js';

export const SYNTHETIC = {
  key: Buffer.from('synthetic-trace-connection-key!!'),
  tracker: { address: '127.0.0.1', port: 6969 },
  /** Trace start, seconds since the epoch. */
  t0: 1_800_000_000,
  intervalS: 1800,
  /** The tracker's default batching window: announces closer than this share one commit. */
  batchMs: 2,
} as const;

type Ep = { address: string; port: number };
type Packet = { us: number; src: Ep; dst: Ep; payload: Buffer };
type Client = { ep: Ep; peerId: Buffer; port: number; left: bigint; id: bigint | null; idAtMs: number; tid: number };
type Peer = { left: bigint; ip: string; port: number };
type Swarm = { peers: Map<string, Peer>; completed: number };

export const swarmHash = (i: number): Buffer => Buffer.from(`synthetic-swarm-${i}`.padEnd(20, '.'));

export type SyntheticTrace = {
  pcap: Buffer;
  /** What a replay must see: datagrams sent to the tracker, and how many of them are answered. */
  requests: number;
  replies: number;
  connects: number;
  announces: number;
  scrapes: number;
  errors: number;
};

export function makeSyntheticTrace(): SyntheticTrace {
  const packets: Packet[] = [];
  const swarms = [0, 1, 2].map((): Swarm => ({ peers: new Map(), completed: 0 }));
  const counts = { connects: 0, announces: 0, scrapes: 0, errors: 0 };
  let windowEndMs = -Infinity;
  const clients: Client[] = Array.from({ length: 20 }, (_, i) => ({
    ep: { address: `127.0.0.${11 + i}`, port: 40_000 + i },
    peerId: Buffer.from(`-SY0001-client${String(i).padStart(6, '0')}`),
    port: 6881 + i,
    left: i % 4 === 0 ? 0n : 1_000_000n,
    id: null,
    idAtMs: 0,
    tid: 0x1000 * (i + 1),
  }));

  const send = (ms: number, c: Client, payload: Buffer): void => {
    packets.push({ us: Math.round(ms * 1000), src: c.ep, dst: SYNTHETIC.tracker, payload });
  };
  const answer = (ms: number, c: Client, payload: Buffer): void => {
    packets.push({ us: Math.round(ms * 1000), src: SYNTHETIC.tracker, dst: c.ep, payload });
  };
  const nowS = (ms: number): number => SYNTHETIC.t0 * 1000 + ms;

  /** BEP 15 clients reuse an ID for one minute, then connect again. */
  const connectIfStale = (ms: number, c: Client): number => {
    if (c.id !== null && ms - c.idAtMs < 60_000) return ms;
    const tid = c.tid++;
    send(ms, c, encodeConnectRequest(tid));
    c.id = mintConnectionId(SYNTHETIC.key, nowS(ms), addressBytes(c.ep.address)!.ip);
    c.idAtMs = ms;
    answer(ms + 0.05, c, encodeConnectReply(tid, c.id));
    counts.connects++;
    return ms + 5;
  };

  const announce = (at: number, c: Client, swarm: number, event: 0 | 1 | 2 | 3, numWant = -1): void => {
    const ms = connectIfStale(at, c);
    const tid = c.tid++;
    if (event === 1) c.left = 0n;
    send(
      ms,
      c,
      encodeAnnounceRequest({
        connectionId: c.id!,
        transactionId: tid,
        infoHash: swarmHash(swarm),
        peerId: c.peerId,
        downloaded: 0n,
        left: c.left,
        uploaded: 0n,
        event,
        ip: 0,
        key: 0,
        numWant,
        port: c.port,
      }),
    );
    // The tracker commits announces in windows of batchMs from the first one; replies leave at the commit.
    if (ms >= windowEndMs) windowEndMs = ms + SYNTHETIC.batchMs;
    const s = swarms[swarm]!;
    const key = c.peerId.toString('hex');
    const before = s.peers.get(key);
    if (event === 3) s.peers.delete(key);
    else {
      if (event === 1 && !(before && before.left === 0n)) s.completed++;
      s.peers.set(key, { left: c.left, ip: c.ep.address, port: c.port });
    }
    const all = [...s.peers.values()];
    const seeders = all.filter((p) => p.left === 0n).length;
    const others = all.filter((p) => !(p.ip === c.ep.address && p.port === c.port));
    const wanted = Math.min(numWant < 0 ? 50 : numWant, 200);
    const peers = Buffer.concat(
      others.slice(0, wanted).map((p) => {
        const b = Buffer.alloc(6);
        addressBytes(p.ip)!.ip.copy(b);
        b.writeUInt16BE(p.port, 4);
        return b;
      }),
    );
    answer(
      windowEndMs + 0.05,
      c,
      encodeAnnounceReply({
        transactionId: tid,
        interval: SYNTHETIC.intervalS,
        leechers: all.length - seeders,
        seeders,
        peers,
      }),
    );
    counts.announces++;
  };

  const scrape = (at: number, c: Client, hashes: Buffer[]): void => {
    const ms = connectIfStale(at, c);
    const tid = c.tid++;
    send(ms, c, encodeScrapeRequest(c.id!, tid, hashes));
    if (hashes.length > 74) {
      answer(ms + 0.05, c, encodeErrorReply(tid, 'too many info hashes (max 74)'));
      counts.errors++;
      return;
    }
    answer(
      ms + 0.05,
      c,
      encodeScrapeReply(
        tid,
        hashes.map((h) => {
          const s = swarms.find((_, i) => swarmHash(i).equals(h));
          const all = s ? [...s.peers.values()] : [];
          const seeders = all.filter((p) => p.left === 0n).length;
          return { seeders, completed: s?.completed ?? 0, leechers: all.length - seeders };
        }),
      ),
    );
    counts.scrapes++;
  };

  // 1. Everyone starts, one client a second, in three swarms, asking for various numbers of peers.
  for (const [i, c] of clients.entries()) announce(1000 * i + 7.5, c, i % 3, 2, [-1, 50, 5, 0][i % 4]!);
  // 2. Six regular announces within 1.5 ms: one batching window, one commit.
  for (let i = 0; i < 6; i++) announce(25_000 + 0.3 * i, clients[i]!, i % 3, 0);
  // 3. A scrape of the three swarms and one unknown hash.
  scrape(30_000, clients[19]!, [swarmHash(0), swarmHash(1), swarmHash(2), swarmHash(9)]);
  // 4. Six leechers finish (connecting again first: their IDs are older than a minute).
  for (let i = 6; i < 12; i++) announce(70_000 + 2000 * (i - 6), clients[i]!, i % 3, 1);
  // 5. Refused: an unknown action, too many hashes, 10 bytes of noise (dropped, no reply), an expired ID.
  const c13 = clients[13]!;
  const unknownAt = connectIfStale(100_000, c13);
  const unknown = encodeConnectRequest(c13.tid++);
  unknown.writeBigUInt64BE(c13.id!, 0);
  unknown.writeUInt32BE(5, 8);
  send(unknownAt, c13, unknown);
  answer(unknownAt + 0.05, c13, encodeErrorReply(unknown.readUInt32BE(12), 'unknown action'));
  counts.errors++;
  scrape(
    110_000,
    clients[14]!,
    Array.from({ length: 75 }, (_, i) => swarmHash(i)),
  );
  send(120_000, clients[15]!, Buffer.from('not bep 15'));
  // Client 12's ID dates from second 12: at second 140 it is more than two minutes old.
  const c12 = clients[12]!;
  const staleTid = c12.tid++;
  send(
    140_000,
    c12,
    encodeAnnounceRequest({
      connectionId: c12.id!,
      transactionId: staleTid,
      infoHash: swarmHash(0),
      peerId: c12.peerId,
      downloaded: 0n,
      left: c12.left,
      uploaded: 0n,
      event: 0,
      ip: 0,
      key: 0,
      numWant: -1,
      port: c12.port,
    }),
  );
  answer(140_000.05, c12, encodeErrorReply(staleTid, 'connection ID expired'));
  counts.errors++;
  // 6. Ten clients leave, then a last scrape.
  for (let i = 0; i < 10; i++) announce(150_000 + 1000 * i, clients[i]!, i % 3, 3);
  scrape(170_000, clients[19]!, [swarmHash(0), swarmHash(1), swarmHash(2)]);

  packets.sort((a, b) => a.us - b.us);
  const requests = packets.filter((p) => p.dst === SYNTHETIC.tracker).length;
  return { pcap: writeTinyPcap(packets), requests, replies: packets.length - requests, ...counts };
}

/** Classic pcap, little-endian, microseconds, Ethernet with zero MACs: what tcpdump writes on Linux `lo`. */
function writeTinyPcap(packets: readonly Packet[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(1, 20);
  const records = packets.map((p) => {
    const frame = Buffer.alloc(14 + 20 + 8 + p.payload.length);
    frame.writeUInt16BE(0x0800, 12);
    const ip = frame.subarray(14, 34);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 8 + p.payload.length, 2);
    ip.writeUInt16BE(0x4000, 6);
    ip[8] = 64;
    ip[9] = 17;
    addressBytes(p.src.address)!.ip.copy(ip, 12);
    addressBytes(p.dst.address)!.ip.copy(ip, 16);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    ip.writeUInt16BE(~sum & 0xffff, 10);
    frame.writeUInt16BE(p.src.port, 34);
    frame.writeUInt16BE(p.dst.port, 36);
    frame.writeUInt16BE(8 + p.payload.length, 38);
    p.payload.copy(frame, 42);
    const rec = Buffer.alloc(16);
    const us = SYNTHETIC.t0 * 1_000_000 + p.us;
    rec.writeUInt32LE(Math.floor(us / 1_000_000), 0);
    rec.writeUInt32LE(us % 1_000_000, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    return Buffer.concat([rec, frame]);
  });
  return Buffer.concat([header, ...records]);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = process.argv[2] ?? 'spec/fixtures/synthetic-swarm.pcap';
  const trace = makeSyntheticTrace();
  writeFileSync(out, trace.pcap);
  const { pcap, ...summary } = trace;
  process.stdout.write(`${out}: ${pcap.length} bytes, ${JSON.stringify(summary)}\n`);
}
