/**
 * UDP tracker load generator: many requests in flight over several sockets, packets prebuilt per slot, a
 * realistic mix (announces with a Zipf-like popularity over many swarms, plus scrapes), for a fixed time.
 * Prints responses/s and latency percentiles (also as JSON with --json). Connection IDs are refreshed on time.
 *
 *   node dist/scripts/load.js --target 127.0.0.1:6969 [--seconds 10] [--inflight 256] [--sockets 4]
 *        [--swarms 5000] [--peers 20000] [--scrape 0.1] [--json]
 */
import dgram from 'node:dgram';
import { parseArgs } from 'node:util';
import { decodeReply } from '../src/protocol/decode-reply.js';
import { encodeAnnounceRequest, encodeConnectRequest, encodeScrapeRequest } from '../src/protocol/encode.js';

export type LoadResult = {
  seconds: number; sent: number; responses: number; errors: number; timeouts: number;
  perSecond: number; p50ms: number; p99ms: number;
};

export type LoadOptions = {
  host: string; port: number; seconds: number; inflight: number; sockets: number; swarms: number; peers: number;
  scrape: number; seed?: number;
};

/** Deterministic PRNG so every tracker in a benchmark run sees the same request stream. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

/** Zipf-like popularity: swarm i drawn with weight 1/(i+1). */
function zipfSampler(n: number, rnd: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / (i + 1);
  return () => {
    const x = rnd() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export function infoHashOf(i: number): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt32BE(0x7a11ce00, 0);
  h.writeUInt32BE(i, 16);
  return h;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const rnd = prng(o.seed ?? 42);
  const pick = zipfSampler(o.swarms, rnd);
  const slotsPer = Math.max(1, Math.floor(o.inflight / o.sockets));
  const latencies: number[] = [];
  let sent = 0;
  let responses = 0;
  let errors = 0;
  let timeouts = 0;
  let running = true;

  const sockets = await Promise.all(Array.from({ length: o.sockets }, async (_, si) => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    if (o.host.startsWith('2')) s.setMulticastInterface('127.0.0.1');
    s.setRecvBufferSize(4 << 20);
    s.setSendBufferSize(4 << 20);
    return { s, si, cid: 0n, cidAt: 0 };
  }));

  // One connect per socket; IDs are bound to the socket's address and are valid for 2 minutes.
  const connect = (sock: (typeof sockets)[number]): Promise<void> =>
    new Promise((resolve) => {
      const tid = 0xc0000000 + sock.si;
      const onMsg = (m: Buffer): void => {
        const r = decodeReply(m);
        if (r.action === 'connect' && r.transactionId === tid) {
          sock.s.off('message', onMsg);
          clearInterval(retry);
          sock.cid = r.connectionId;
          sock.cidAt = Date.now();
          resolve();
        }
      };
      sock.s.on('message', onMsg);
      const send = (): void => sock.s.send(encodeConnectRequest(tid), o.port, o.host);
      const retry = setInterval(send, 500);
      send();
    });
  await Promise.all(sockets.map(connect));

  const started = Date.now();
  const deadline = started + o.seconds * 1000;
  await Promise.all(sockets.map((sock) => new Promise<void>((done) => {
    const slotStart = new Float64Array(slotsPer);
    const slotTid = new Uint32Array(slotsPer);
    let seq = 1;
    let open = 0;
    const fire = (slot: number): void => {
      if (!running || Date.now() >= deadline) {
        if (open === 0) done();
        return;
      }
      const tid = ((seq++ & 0x3fffff) << 8) | slot;
      let pkt: Buffer;
      if (rnd() < o.scrape) {
        pkt = encodeScrapeRequest(sock.cid, tid, [infoHashOf(pick()), infoHashOf(pick())]);
      } else {
        const peer = Math.floor(rnd() * o.peers);
        const peerId = Buffer.alloc(20);
        peerId.writeUInt32BE(0x2d4c4f00, 0);
        peerId.writeUInt32BE(peer, 16);
        pkt = encodeAnnounceRequest({
          connectionId: sock.cid, transactionId: tid, infoHash: infoHashOf(pick()), peerId, downloaded: 0n,
          left: rnd() < 0.3 ? 0n : 1_000_000n, uploaded: 0n, event: 0, ip: 0, key: peer, numWant: 50, port: 10000 + (peer % 50000),
        });
      }
      slotTid[slot] = tid >>> 0;
      slotStart[slot] = performance.now();
      open++;
      sent++;
      sock.s.send(pkt, o.port, o.host);
    };
    sock.s.on('message', (m: Buffer) => {
      if (m.length < 8) return;
      const tid = m.readUInt32BE(4);
      const slot = tid & 0xff;
      if (slot >= slotsPer || slotTid[slot] !== tid) return; // a late reply to a request already retried
      slotTid[slot] = 0;
      open--;
      const action = m.readUInt32BE(0);
      if (action === 3) errors++;
      else {
        responses++;
        latencies.push(performance.now() - slotStart[slot]!);
      }
      fire(slot);
    });
    // Requests lost (an election, a full buffer) are re-sent after a second, as clients would.
    const sweep = setInterval(() => {
      const now = performance.now();
      if (Date.now() - sock.cidAt > 60_000) {
        void connect(sock);
      }
      for (let slot = 0; slot < slotsPer; slot++) {
        if (slotTid[slot] !== 0 && now - slotStart[slot]! > 1000) {
          slotTid[slot] = 0;
          open--;
          timeouts++;
          fire(slot);
        }
      }
      if (Date.now() >= deadline + 1500) {
        clearInterval(sweep);
        done();
      }
    }, 250);
    for (let slot = 0; slot < slotsPer; slot++) fire(slot);
  })));
  running = false;
  const seconds = (Date.now() - started) / 1000;
  for (const { s } of sockets) s.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]! : NaN);
  return {
    seconds: Math.round(seconds * 100) / 100, sent, responses, errors, timeouts,
    perSecond: Math.round(responses / Math.min(seconds, o.seconds)), p50ms: round(q(0.5)), p99ms: round(q(0.99)),
  };
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\/dist\//, '/dist/'));
if (isMain) {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' }, seconds: { type: 'string' }, inflight: { type: 'string' }, sockets: { type: 'string' },
      swarms: { type: 'string' }, peers: { type: 'string' }, scrape: { type: 'string' }, json: { type: 'boolean' },
    },
  });
  const [host, port] = (values.target ?? '127.0.0.1:6969').split(/:(?=\d+$)/);
  const result = await runLoad({
    host: host!, port: Number(port), seconds: Number(values.seconds ?? 10), inflight: Number(values.inflight ?? 256),
    sockets: Number(values.sockets ?? 4), swarms: Number(values.swarms ?? 5000), peers: Number(values.peers ?? 20000),
    scrape: Number(values.scrape ?? 0.1),
  });
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(`${result.perSecond} responses/s over ${result.seconds} s; p50 ${result.p50ms} ms, p99 ${result.p99ms} ms; ` +
      `${result.errors} error replies, ${result.timeouts} timeouts (${result.sent} sent)\n`);
  }
}
