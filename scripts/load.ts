/**
 * UDP tracker load generator: a realistic request mix (announces with a Zipf-like popularity over many swarms,
 * plus scrapes) sent from several sockets, packets prebuilt once (only the connection ID and transaction ID are
 * stamped at send time), for a fixed time. Three ways to drive a tracker:
 *
 * - closed loop (default): `--inflight` requests always outstanding; measures the maximum responses/s;
 * - open loop (`--rate R`): R requests/s (Poisson arrivals, or `--arrivals even`) whatever the replies do;
 *   measures latency at a given load without coordinated omission (a slow reply does not delay the next send);
 * - fill (`--fill N`): N distinct peers over `--fill-swarms` swarms, each announced once (retried when lost)
 *   with a bounded window, from several loopback source addresses so (address, port) is unique per peer too.
 *
 * Every reply is checked: an announce reply must carry a 20-byte header and whole compact peers, a scrape reply
 * one 12-byte entry per hash; anything else counts as invalid, BEP 15 errors as errors (with samples).
 *
 *   node dist/scripts/load.js --target 127.0.0.1:6969 [--seconds 10] [--inflight 256] [--sockets 4]
 *        [--swarms 5000] [--peers 20000] [--scrape 0.1] [--rate R [--arrivals poisson|even]] [--json]
 *   node dist/scripts/load.js --target 127.0.0.1:6969 --fill 1000000 [--fill-swarms 100000] [--json]
 *   node dist/scripts/load.js --target 127.0.0.1:6969 --probe
 */
import dgram from 'node:dgram';
import { parseArgs } from 'node:util';
import { decodeReply } from '../src/protocol/decode-reply.js';
import { encodeAnnounceRequest, encodeConnectRequest, encodeScrapeRequest } from '../src/protocol/encode.js';
import {
  Action,
  ANNOUNCE_REPLY_HEADER_LEN,
  COMPACT_V4_LEN,
  OFF_CONNECTION_ID,
  OFF_TRANSACTION_ID,
  SCRAPE_REPLY_ENTRY_LEN,
} from '../src/protocol/constants.js';

export type LoadResult = {
  mode: 'closed' | 'open';
  /** Requests/s asked for in open loop; null in closed loop. */
  rate: number | null;
  /** Wall time from the first send to the last reply or timeout. */
  seconds: number;
  sent: number;
  /** Valid announce and scrape replies (errors and invalid replies are counted apart). */
  responses: number;
  errors: number;
  invalid: number;
  timeouts: number;
  /** Valid replies received within the measured window, per second of that window. */
  perSecond: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  maxMs: number;
  announceReplies: number;
  /** Mean number of compact peers in an announce reply: a tracker that answers with no peers is suspicious. */
  meanPeers: number;
  scrapeReplies: number;
  /** Share of scraped swarms reported with at least one peer. */
  scrapeNonEmpty: number;
  /** A few error / invalid reply texts with their counts. */
  errorSamples: Record<string, number>;
  /** Open loop: how late the generator itself sent (99th percentile, ms); null in closed loop. */
  lagP99ms: number | null;
};

export type LoadOptions = {
  host: string;
  port: number;
  seconds: number;
  inflight: number;
  sockets: number;
  swarms: number;
  peers: number;
  scrape: number;
  seed?: number;
  /** Open loop at this many requests/s; closed loop when absent or 0. */
  rate?: number;
  arrivals?: 'poisson' | 'even';
  /** Prebuilt packets per socket, replayed cyclically (default 16384). */
  pool?: number;
  /** A request unanswered after this long counts as a timeout (closed loop: and is replaced). Default 1000. */
  timeoutMs?: number;
};

export type FillOptions = {
  host: string;
  port: number;
  /** Distinct peers to announce, each once. */
  peers: number;
  /** Over this many swarms (infoHashOf(firstSwarm + j % swarms)). */
  swarms: number;
  /** Requests outstanding at most, over all sockets. */
  inflight: number;
  firstSwarm?: number;
  /** Peers per loopback source address (default 60000, ports 1024…). */
  perAddress?: number;
  timeoutMs?: number;
  /** Attempts per peer before it counts as failed (default 8). */
  attempts?: number;
  /** Give up (reject) when no announce has been acknowledged for this long (default 15000 ms). */
  stallMs?: number;
};

export type FillResult = {
  peers: number;
  swarms: number;
  addresses: number;
  seconds: number;
  perSecond: number;
  acked: number;
  errors: number;
  invalid: number;
  retries: number;
  failed: number;
  errorSamples: Record<string, number>;
};

export type ProbeResult = { ok: boolean; detail: string };

/** Swarm index used only by `probe` (kept out of the load's range; list it in whitelists too). */
export const PROBE_SWARM = 0xfffffff0;

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
  h.writeUInt32BE(i >>> 0, 16);
  return h;
}

/** Growable array of doubles (latencies), sorted numerically at the end without a comparator. */
class Samples {
  private a = new Float64Array(1 << 16);
  n = 0;
  add(x: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = x;
  }
  quantiles(): (p: number) => number {
    const s = this.a.subarray(0, this.n).sort();
    return (p) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : NaN);
  }
}

/** What came back: counts by kind, peers in announce replies, scrape contents, error texts. */
class Tally {
  readonly latency = new Samples();
  readonly lag = new Samples();
  sent = 0;
  responses = 0;
  inWindow = 0;
  errors = 0;
  invalid = 0;
  timeouts = 0;
  announceReplies = 0;
  peers = 0;
  scrapeReplies = 0;
  scrapeEntries = 0;
  scrapeNonEmpty = 0;
  readonly samples = new Map<string, number>();

  private sample(text: string): void {
    const key = text.slice(0, 80);
    const n = this.samples.get(key);
    if (n !== undefined) this.samples.set(key, n + 1);
    else if (this.samples.size < 8) this.samples.set(key, 1);
  }

  /** Classifies a reply to one of our requests: 'ok' for a well-formed announce or scrape reply. */
  reply(m: Buffer): 'ok' | 'error' | 'invalid' {
    const action = m.readUInt32BE(0);
    if (
      action === Action.announce &&
      m.length >= ANNOUNCE_REPLY_HEADER_LEN &&
      (m.length - ANNOUNCE_REPLY_HEADER_LEN) % COMPACT_V4_LEN === 0
    ) {
      this.responses++;
      this.announceReplies++;
      this.peers += (m.length - ANNOUNCE_REPLY_HEADER_LEN) / COMPACT_V4_LEN;
      return 'ok';
    }
    if (action === Action.scrape && m.length > 8 && (m.length - 8) % SCRAPE_REPLY_ENTRY_LEN === 0) {
      this.responses++;
      this.scrapeReplies++;
      for (let at = 8; at < m.length; at += SCRAPE_REPLY_ENTRY_LEN) {
        this.scrapeEntries++;
        if (m.readUInt32BE(at) + m.readUInt32BE(at + 8) > 0) this.scrapeNonEmpty++;
      }
      return 'ok';
    }
    if (action === Action.error) {
      this.errors++;
      this.sample(`error: ${m.subarray(8).toString('utf8')}`);
      return 'error';
    }
    this.invalid++;
    this.sample(`invalid: action ${action}, ${m.length} bytes`);
    return 'invalid';
  }

  result(mode: 'closed' | 'open', rate: number | null, seconds: number, windowSeconds: number): LoadResult {
    const q = this.latency.quantiles();
    return {
      mode,
      rate,
      seconds: round(seconds, 100),
      sent: this.sent,
      responses: this.responses,
      errors: this.errors,
      invalid: this.invalid,
      timeouts: this.timeouts,
      perSecond: Math.round(this.inWindow / windowSeconds),
      p50ms: round(q(0.5)),
      p90ms: round(q(0.9)),
      p99ms: round(q(0.99)),
      maxMs: round(q(1)),
      announceReplies: this.announceReplies,
      meanPeers: this.announceReplies ? round(this.peers / this.announceReplies, 100) : 0,
      scrapeReplies: this.scrapeReplies,
      scrapeNonEmpty: this.scrapeEntries ? round(this.scrapeNonEmpty / this.scrapeEntries, 1000) : 0,
      errorSamples: Object.fromEntries(this.samples),
      lagP99ms: mode === 'open' ? round(this.lag.quantiles()(0.99)) : null,
    };
  }
}

const round = (x: number, k = 1000): number => (Number.isFinite(x) ? Math.round(x * k) / k : x);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Sock = { s: dgram.Socket; si: number; cid: bigint; cidAt: number };

async function openSocket(si: number, bindAddress: string, target: string): Promise<Sock> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, bindAddress, () => {
      s.off('error', reject);
      resolve();
    });
  });
  s.on('error', () => {}); // e.g. ECONNREFUSED after the tracker went away: the sweep counts the loss
  if (/^2(2[4-9]|3\d)\./.test(target)) s.setMulticastInterface('127.0.0.1');
  s.setRecvBufferSize(4 << 20);
  s.setSendBufferSize(4 << 20);
  return { s, si, cid: 0n, cidAt: 0 };
}

/** One connect (retried every 500 ms); IDs are bound to the socket's address and valid for about 2 minutes. */
function connect(sock: Sock, host: string, port: number, giveUpMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const tid = (0xc0000000 + (sock.si & 0xffff) * 0x100 + ((Date.now() >>> 4) & 0xff)) >>> 0;
    const onMsg = (m: Buffer): void => {
      const r = decodeReply(m);
      if (r.action === 'connect' && r.transactionId === tid) {
        finish();
        sock.cid = r.connectionId;
        sock.cidAt = Date.now();
        resolve();
      }
    };
    const finish = (): void => {
      sock.s.off('message', onMsg);
      clearInterval(retry);
      clearTimeout(giveUp);
    };
    sock.s.on('message', onMsg);
    const send = (): void => sock.s.send(encodeConnectRequest(tid), port, host);
    const retry = setInterval(send, 500);
    const giveUp = setTimeout(() => {
      finish();
      reject(new Error(`no connect reply from ${host}:${port} within ${giveUpMs / 1000} s`));
    }, giveUpMs);
    send();
  });
}

/** Stamps the connection ID and transaction ID into a prebuilt request. */
function stamp(pkt: Buffer, cid: bigint, tid: number): Buffer {
  pkt.writeBigUInt64BE(cid, OFF_CONNECTION_ID);
  pkt.writeUInt32BE(tid >>> 0, OFF_TRANSACTION_ID);
  return pkt;
}

/** The request mix, built once: announces (peer, Zipf swarm, 30 % seeders) and 2-hash scrapes. */
function buildPool(count: number, rnd: () => number, pick: () => number, o: LoadOptions): Buffer[] {
  const pool: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    if (rnd() < o.scrape) {
      pool.push(encodeScrapeRequest(0n, 0, [infoHashOf(pick()), infoHashOf(pick())]));
      continue;
    }
    const peer = Math.floor(rnd() * o.peers);
    const peerId = Buffer.alloc(20);
    peerId.writeUInt32BE(0x2d4c4f00, 0);
    peerId.writeUInt32BE(peer, 16);
    pool.push(
      encodeAnnounceRequest({
        connectionId: 0n,
        transactionId: 0,
        infoHash: infoHashOf(pick()),
        peerId,
        downloaded: 0n,
        left: rnd() < 0.3 ? 0n : 1_000_000n,
        uploaded: 0n,
        event: 0,
        ip: 0,
        key: peer,
        numWant: 50,
        port: 10000 + (peer % 50000),
      }),
    );
  }
  return pool;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const rnd = prng(o.seed ?? 42);
  const pick = zipfSampler(o.swarms, rnd);
  const timeoutMs = o.timeoutMs ?? 1000;
  const sockets = await Promise.all(Array.from({ length: o.sockets }, (_, si) => openSocket(si, '127.0.0.1', o.host)));
  try {
    const pools = sockets.map(() => buildPool(o.pool ?? 16384, rnd, pick, o));
    await Promise.all(sockets.map((sock) => connect(sock, o.host, o.port)));
    // Connection IDs expire after about 2 minutes: refresh every minute (late replies are ignored).
    const refresh = setInterval(() => {
      for (const sock of sockets) if (Date.now() - sock.cidAt > 60_000) connect(sock, o.host, o.port).catch(() => {});
    }, 1000);
    try {
      return o.rate && o.rate > 0 ? await openLoop(o, o.rate, sockets, pools, timeoutMs) : await closedLoop(o, sockets, pools, timeoutMs);
    } finally {
      clearInterval(refresh);
    }
  } finally {
    for (const { s } of sockets) s.close();
  }
}

/** `inflight` requests always outstanding: a reply (or a timeout) frees its slot for the next request. */
async function closedLoop(o: LoadOptions, sockets: Sock[], pools: Buffer[][], timeoutMs: number): Promise<LoadResult> {
  const t = new Tally();
  const slotsPer = Math.min(256, Math.max(1, Math.floor(o.inflight / o.sockets)));
  const started = performance.now();
  const deadline = started + o.seconds * 1000;
  await Promise.all(
    sockets.map(
      (sock, si) =>
        new Promise<void>((done) => {
          const pool = pools[si]!;
          const slotStart = new Float64Array(slotsPer);
          const slotTid = new Uint32Array(slotsPer);
          let cursor = 0;
          let seq = 1;
          let open = 0;
          let finished = false;
          const finish = (): void => {
            if (finished) return;
            finished = true;
            clearInterval(sweep);
            sock.s.off('message', onMessage);
            done();
          };
          const fire = (slot: number): void => {
            const now = performance.now();
            if (now >= deadline) {
              if (open === 0) finish();
              return;
            }
            const tid = (((seq++ & 0x3fffff) << 8) | slot) >>> 0;
            const pkt = stamp(pool[cursor]!, sock.cid, tid);
            cursor = (cursor + 1) % pool.length;
            slotTid[slot] = tid;
            slotStart[slot] = now;
            open++;
            t.sent++;
            sock.s.send(pkt, o.port, o.host);
          };
          const onMessage = (m: Buffer): void => {
            if (m.length < 8) return;
            const tid = m.readUInt32BE(4);
            const slot = tid & 0xff;
            if (slot >= slotsPer || slotTid[slot] !== tid) return; // a late reply to a request already replaced
            slotTid[slot] = 0;
            open--;
            const now = performance.now();
            if (t.reply(m) === 'ok') {
              t.latency.add(now - slotStart[slot]!);
              if (now <= deadline) t.inWindow++;
            }
            fire(slot);
          };
          sock.s.on('message', onMessage);
          // Requests lost (an election, a full buffer) are replaced after timeoutMs, as clients would retry.
          const sweep = setInterval(() => {
            const now = performance.now();
            for (let slot = 0; slot < slotsPer; slot++) {
              if (slotTid[slot] !== 0 && now - slotStart[slot]! > timeoutMs) {
                slotTid[slot] = 0;
                open--;
                t.timeouts++;
                fire(slot);
              }
            }
            if (open === 0 && now >= deadline) finish();
            if (now >= deadline + timeoutMs + 500) finish();
          }, 100);
          for (let slot = 0; slot < slotsPer; slot++) fire(slot);
        }),
    ),
  );
  return t.result('closed', null, (performance.now() - started) / 1000, o.seconds);
}

/**
 * `rate` requests/s whatever the tracker does: arrival times are drawn ahead (exponential gaps, or even
 * spacing) and every request due is sent at each timer tick. Latency runs from the actual send; how late
 * the generator itself was is reported as lagP99ms.
 */
async function openLoop(o: LoadOptions, rate: number, sockets: Sock[], pools: Buffer[][], timeoutMs: number): Promise<LoadResult> {
  const t = new Tally();
  const RING = 1 << 16;
  const MASK = RING - 1;
  const arrivals = prng((o.seed ?? 42) ^ 0x5eed);
  const gapMs = o.arrivals === 'even' ? (): number => 1000 / rate : (): number => (-Math.log(1 - arrivals()) * 1000) / rate;
  type State = { start: Float64Array; tids: Uint32Array; seq: number; oldest: number; cursor: number; open: number };
  const states: State[] = sockets.map(() => ({
    start: new Float64Array(RING),
    tids: new Uint32Array(RING),
    seq: 1,
    oldest: 1,
    cursor: 0,
    open: 0,
  }));
  const started = performance.now();
  const end = started + o.seconds * 1000;
  let nextAt = started;
  let rr = 0;

  const handlers = sockets.map((sock, si) => {
    const st = states[si]!;
    const onMessage = (m: Buffer): void => {
      if (m.length < 8) return;
      const tid = m.readUInt32BE(4);
      const idx = tid & MASK;
      if (tid === 0 || st.tids[idx] !== tid) return;
      st.tids[idx] = 0;
      st.open--;
      const now = performance.now();
      if (t.reply(m) === 'ok') {
        t.latency.add(now - st.start[idx]!);
        if (now <= end) t.inWindow++;
      }
    };
    sock.s.on('message', onMessage);
    return onMessage;
  });

  const send = (si: number, now: number): void => {
    const sock = sockets[si]!;
    const st = states[si]!;
    const pool = pools[si]!;
    const tid = st.seq;
    st.seq = (st.seq + 1) >>> 0 || 1;
    const idx = tid & MASK;
    if (st.tids[idx] !== 0) {
      // still unanswered after 65536 later requests: lost
      t.timeouts++;
      st.open--;
    }
    st.tids[idx] = tid;
    st.start[idx] = now;
    st.open++;
    t.sent++;
    sock.s.send(stamp(pool[st.cursor]!, sock.cid, tid), o.port, o.host);
    st.cursor = (st.cursor + 1) % pool.length;
  };

  // Requests are answered roughly in order: walk from the oldest outstanding one, O(1) amortised.
  const sweepOnce = (all: boolean): void => {
    const now = performance.now();
    for (const st of states) {
      while (st.oldest !== st.seq) {
        const idx = st.oldest & MASK;
        if (st.tids[idx] === st.oldest) {
          if (!all && now - st.start[idx]! <= timeoutMs) break;
          st.tids[idx] = 0;
          st.open--;
          t.timeouts++;
        }
        st.oldest = (st.oldest + 1) >>> 0 || 1;
      }
    }
  };
  const sweep = setInterval(() => sweepOnce(false), 100);

  await new Promise<void>((done) => {
    const tick = (): void => {
      const now = performance.now();
      while (nextAt <= now && nextAt < end) {
        t.lag.add(now - nextAt);
        send(rr, now);
        rr = (rr + 1) % sockets.length;
        nextAt += gapMs();
      }
      if (nextAt >= end) done();
      else setTimeout(tick, Math.max(1, Math.floor(nextAt - performance.now())));
    };
    tick();
  });
  // Drain: wait for the replies still on their way, up to the timeout.
  const drainUntil = performance.now() + timeoutMs + 100;
  while (states.some((st) => st.open > 0) && performance.now() < drainUntil) await sleep(20);
  clearInterval(sweep);
  sweepOnce(true);
  for (const [si, sock] of sockets.entries()) sock.s.off('message', handlers[si]!);
  return t.result('open', rate, (performance.now() - started) / 1000, o.seconds);
}

/** The loopback source address of fill socket i (all of 127.0.0.0/8 is local on Linux). */
const fillAddress = (i: number): string => `127.1.${1 + Math.floor(i / 200)}.${1 + (i % 200)}`;

/**
 * Announces `peers` distinct peers once each (event started), peer j to swarm firstSwarm + j % swarms, from
 * address fillAddress(j / perAddress) with port 1024 + j % perAddress and its own peer ID; a lost or refused
 * announce is sent again (up to `attempts`). At most `inflight` requests are outstanding.
 */
export async function runFill(o: FillOptions): Promise<FillResult> {
  const perAddress = o.perAddress ?? 60000;
  const timeoutMs = o.timeoutMs ?? 1000;
  const attempts = o.attempts ?? 8;
  const first = o.firstSwarm ?? 0;
  const addresses = Math.ceil(o.peers / perAddress);
  const window = Math.min(256, Math.max(4, Math.ceil(o.inflight / addresses)));
  const t = new Tally();
  let acked = 0;
  let retries = 0;
  let failed = 0;
  let lastAck = performance.now();
  let stalled = false;
  const stallMs = o.stallMs ?? 15_000;
  const sockets = await Promise.all(Array.from({ length: addresses }, (_, i) => openSocket(i, fillAddress(i), o.host)));
  const started = performance.now();
  try {
    await Promise.all(sockets.map((sock) => connect(sock, o.host, o.port)));
    const refresh = setInterval(() => {
      for (const sock of sockets) if (Date.now() - sock.cidAt > 60_000) connect(sock, o.host, o.port).catch(() => {});
    }, 1000);
    try {
      await Promise.all(
        sockets.map(
          (sock, a) =>
            new Promise<void>((done) => {
              let cursor = a * perAddress;
              const stop = Math.min(o.peers, (a + 1) * perAddress);
              const slotPeer = new Int32Array(window).fill(-1);
              const slotTries = new Uint8Array(window);
              const slotStart = new Float64Array(window);
              const slotTid = new Uint32Array(window);
              const peerId = Buffer.alloc(20);
              peerId.write('-MEM000-', 0, 'latin1');
              let seq = 1;
              let busy = 0;
              let finished = false;
              const send = (slot: number): void => {
                const j = slotPeer[slot]!;
                const tid = (((seq++ & 0x3fffff) << 8) | slot) >>> 0;
                peerId.writeUInt32BE(j, 16);
                const pkt = encodeAnnounceRequest({
                  connectionId: sock.cid,
                  transactionId: tid,
                  infoHash: infoHashOf(first + (j % o.swarms)),
                  peerId,
                  downloaded: 0n,
                  left: j % 3 === 0 ? 0n : 1_000_000n,
                  uploaded: 0n,
                  event: 2,
                  ip: 0,
                  key: j,
                  numWant: 0,
                  port: 1024 + (j % perAddress),
                });
                slotTid[slot] = tid;
                slotStart[slot] = performance.now();
                t.sent++;
                sock.s.send(pkt, o.port, o.host);
              };
              const next = (slot: number): void => {
                if (cursor >= stop) {
                  slotPeer[slot] = -1;
                  slotTid[slot] = 0;
                  if (--busy === 0) finish();
                  return;
                }
                slotPeer[slot] = cursor++;
                slotTries[slot] = 1;
                send(slot);
              };
              const again = (slot: number): void => {
                if (slotTries[slot]! >= attempts) {
                  failed++;
                  next(slot);
                  return;
                }
                slotTries[slot] = slotTries[slot]! + 1;
                retries++;
                send(slot);
              };
              const onMessage = (m: Buffer): void => {
                if (m.length < 8) return;
                const tid = m.readUInt32BE(4);
                const slot = tid & 0xff;
                if (slot >= window || slotTid[slot] !== tid) return;
                slotTid[slot] = 0;
                if (t.reply(m) === 'ok') {
                  acked++;
                  lastAck = performance.now();
                  next(slot);
                } else again(slot);
              };
              const finish = (): void => {
                if (finished) return;
                finished = true;
                clearInterval(sweep);
                sock.s.off('message', onMessage);
                done();
              };
              sock.s.on('message', onMessage);
              const sweep = setInterval(() => {
                const now = performance.now();
                if (stalled || now - lastAck > stallMs) {
                  stalled = true;
                  finish();
                  return;
                }
                for (let slot = 0; slot < window; slot++) {
                  if (slotPeer[slot]! >= 0 && slotTid[slot] !== 0 && now - slotStart[slot]! > timeoutMs) {
                    slotTid[slot] = 0;
                    t.timeouts++;
                    again(slot);
                  }
                }
              }, 100);
              for (let slot = 0; slot < window; slot++) {
                busy++;
                next(slot);
              }
              if (busy === 0) finish();
            }),
        ),
      );
    } finally {
      clearInterval(refresh);
    }
  } finally {
    for (const { s } of sockets) s.close();
  }
  if (stalled) throw new Error(`fill stalled: no announce acknowledged for ${stallMs / 1000} s (${acked} of ${o.peers} acknowledged)`);
  const seconds = (performance.now() - started) / 1000;
  return {
    peers: o.peers,
    swarms: o.swarms,
    addresses,
    seconds: round(seconds, 100),
    perSecond: Math.round(acked / seconds),
    acked,
    errors: t.errors,
    invalid: t.invalid,
    retries,
    failed,
    errorSamples: Object.fromEntries(t.samples),
  };
}

/** One request/reply exchange on a socket (retried every 500 ms, up to 5 s). */
function ask(sock: Sock, host: string, port: number, build: (tid: number) => Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tid = (0x70000000 + Math.floor(Math.random() * 0x0fffffff)) >>> 0;
    const pkt = build(tid);
    const onMsg = (m: Buffer): void => {
      if (m.length >= 8 && m.readUInt32BE(4) === tid) {
        finish();
        resolve(m);
      }
    };
    const finish = (): void => {
      sock.s.off('message', onMsg);
      clearInterval(retry);
      clearTimeout(giveUp);
    };
    sock.s.on('message', onMsg);
    const retry = setInterval(() => sock.s.send(pkt, port, host), 500);
    const giveUp = setTimeout(() => {
      finish();
      reject(new Error(`no reply from ${host}:${port} within 5 s`));
    }, 5000);
    sock.s.send(pkt, port, host);
  });
}

/** Seeders + leechers of each swarm index, by scrapes of up to 70 hashes. */
export async function countPeers(host: string, port: number, swarms: readonly number[]): Promise<number[]> {
  const sock = await openSocket(0, '127.0.0.1', host);
  try {
    await connect(sock, host, port);
    const counts: number[] = [];
    for (let i = 0; i < swarms.length; i += 70) {
      const chunk = swarms.slice(i, i + 70).map(infoHashOf);
      const m = decodeReply(await ask(sock, host, port, (tid) => encodeScrapeRequest(sock.cid, tid, chunk)));
      if (m.action !== 'scrape' || m.entries.length !== chunk.length) {
        throw new Error(`scrape of ${chunk.length} hashes: unexpected reply ${JSON.stringify(m).slice(0, 120)}`);
      }
      for (const e of m.entries) counts.push(e.seeders + e.leechers);
    }
    return counts;
  } finally {
    sock.s.close();
  }
}

/**
 * Does the tracker really track? Three peers (one seeder) announce to a fresh swarm: the third must get the
 * other two back and counts of 1 seeder / 2 leechers (a tracker may also list the requester itself); a scrape
 * must then say 1 seeder and 2 leechers.
 */
export async function probe(host: string, port: number, connectTimeoutMs = 10_000): Promise<ProbeResult> {
  const sock = await openSocket(0, '127.0.0.1', host);
  try {
    await connect(sock, host, port, connectTimeoutMs);
    const ih = infoHashOf(PROBE_SWARM);
    const announce = async (n: number, left: bigint) => {
      const peerId = Buffer.alloc(20);
      peerId.write(`-PROBE${n}-`, 0, 'latin1');
      peerId.writeUInt32BE(n, 16);
      return decodeReply(
        await ask(sock, host, port, (tid) =>
          encodeAnnounceRequest({
            connectionId: sock.cid,
            transactionId: tid,
            infoHash: ih,
            peerId,
            downloaded: 0n,
            left,
            uploaded: 0n,
            event: 2,
            ip: 0,
            key: n,
            numWant: 50,
            port: 40000 + n,
          }),
        ),
      );
    };
    await announce(1, 0n);
    await announce(2, 500n);
    const third = await announce(3, 500n);
    if (third.action !== 'announce') return { ok: false, detail: `announce: ${JSON.stringify(third).slice(0, 160)}` };
    const got = new Set<number>();
    for (let at = 0; at + 6 <= third.peers.length; at += 6) {
      if (third.peers.readUInt32BE(at) === 0x7f000001) got.add(third.peers.readUInt16BE(at + 4));
    }
    const scraped = decodeReply(await ask(sock, host, port, (tid) => encodeScrapeRequest(sock.cid, tid, [ih])));
    if (scraped.action !== 'scrape') return { ok: false, detail: `scrape: ${JSON.stringify(scraped).slice(0, 160)}` };
    const e = scraped.entries[0]!;
    const ok = got.has(40001) && got.has(40002) && e.seeders === 1 && e.leechers === 2;
    return {
      ok,
      detail:
        `3rd announce: ${third.seeders} seeders, ${third.leechers} leechers, peers [${[...got].sort().join(' ')}]` +
        `${got.has(40003) ? ' (includes the requester)' : ''}; scrape: ${e.seeders}/${e.leechers}/${e.completed} (seeders/leechers/completed)`,
    };
  } finally {
    sock.s.close();
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\/dist\//, '/dist/'));
if (isMain) {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      seconds: { type: 'string' },
      inflight: { type: 'string' },
      sockets: { type: 'string' },
      swarms: { type: 'string' },
      peers: { type: 'string' },
      scrape: { type: 'string' },
      json: { type: 'boolean' },
      rate: { type: 'string' },
      arrivals: { type: 'string' },
      fill: { type: 'string' },
      'fill-swarms': { type: 'string' },
      probe: { type: 'boolean' },
    },
  });
  const [host, port] = (values.target ?? '127.0.0.1:6969').split(/:(?=\d+$)/);
  const out = (r: unknown, text: string): void => {
    process.stdout.write(values.json ? `${JSON.stringify(r)}\n` : `${text}\n`);
  };
  if (values.probe) {
    const r = await probe(host!, Number(port));
    out(r, `${r.ok ? 'ok' : 'FAILED'}: ${r.detail}`);
    process.exitCode = r.ok ? 0 : 1;
  } else if (values.fill) {
    const r = await runFill({
      host: host!,
      port: Number(port),
      peers: Number(values.fill),
      swarms: Number(values['fill-swarms'] ?? 100000),
      inflight: Number(values.inflight ?? 256),
    });
    out(
      r,
      `${r.acked} of ${r.peers} peers announced over ${r.swarms} swarms in ${r.seconds} s (${r.perSecond}/s); ` +
        `${r.retries} retries, ${r.failed} failed, ${r.errors} error and ${r.invalid} invalid replies`,
    );
  } else {
    const rate = Number(values.rate ?? 0);
    const r = await runLoad({
      host: host!,
      port: Number(port),
      seconds: Number(values.seconds ?? 10),
      inflight: Number(values.inflight ?? 256),
      sockets: Number(values.sockets ?? 4),
      swarms: Number(values.swarms ?? 5000),
      peers: Number(values.peers ?? 20000),
      scrape: Number(values.scrape ?? 0.1),
      rate,
      arrivals: values.arrivals === 'even' ? 'even' : 'poisson',
    });
    out(
      r,
      `${r.perSecond} responses/s over ${r.seconds} s (${r.mode} loop${r.rate ? ` at ${r.rate}/s` : ''}); ` +
        `p50 ${r.p50ms} ms, p99 ${r.p99ms} ms; ${r.errors} error and ${r.invalid} invalid replies, ${r.timeouts} timeouts ` +
        `(${r.sent} sent); ${r.meanPeers} peers per announce reply` +
        `${r.lagP99ms !== null ? `; generator lag p99 ${r.lagP99ms} ms` : ''}` +
        `${Object.keys(r.errorSamples).length ? `; ${JSON.stringify(r.errorSamples)}` : ''}`,
    );
  }
}
