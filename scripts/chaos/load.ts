/**
 * Continuous load for the chaos run, with every request accounted by transaction ID: clients announcing new
 * peers through the service address (connect, then announce; an attempt without a reply in `timeoutMs` is
 * retried with a new transaction ID, the announce with the same peer ID). Every datagram that comes back is
 * recorded against the request it answers, also when it comes late, so a request answered twice, a reply from
 * a wrong address or a reply to nothing we sent is visible to the checker. Every announce reply counts as an
 * acknowledgement of its peer ID, late ones too: a client may have acted on it.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { decodeReply } from '../../src/protocol/decode-reply.js';
import { ANNOUNCE_DEFAULTS, encodeAnnounceRequest, encodeConnectRequest } from '../../src/protocol/encode.js';

export type Reply = { readonly at: number; readonly action: string; readonly from: string; readonly message?: string };
export type Request = {
  readonly client: number;
  readonly tid: number;
  readonly kind: 'connect' | 'announce';
  readonly sentAt: number;
  /** Hex peer ID of an announce. */
  readonly peerId?: string;
  readonly replies: Reply[];
};
export type Ack = { readonly peerId: string; readonly sentAt: number; readonly at: number };

export type LoadRecord = {
  readonly requests: ReadonlyMap<string, Request>;
  /** Datagrams that answer no transaction ID we sent. */
  readonly strays: readonly Reply[];
  readonly acks: readonly Ack[];
  readonly target: string;
};

export type LoadOpts = {
  host: string;
  port: number;
  bind?: string;
  clients?: number;
  timeoutMs?: number;
  /** Pause of each client between two acknowledged announces (ms): keeps the machine from saturating. */
  paceMs?: number;
};

export type Load = {
  readonly record: LoadRecord;
  /** First acknowledgement of an announce sent after `t` (ms since the epoch), or null. */
  firstAckSentAfter(t: number): Ack | null;
  /** Wait (polling) until an announce sent after `t` is acknowledged or `ms` pass. */
  ackAfter(t: number, ms: number): Promise<Ack | null>;
  /** Stop sending, let the attempts in flight end, wait `graceMs` for late replies, close the sockets. */
  stop(graceMs?: number): Promise<void>;
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startLoad(o: LoadOpts): Promise<Load> {
  const requests = new Map<string, Request>();
  const strays: Reply[] = [];
  const acks: Ack[] = [];
  const target = `${o.host}:${o.port}`;
  const timeoutMs = o.timeoutMs ?? 250;
  const ih = randomBytes(20);
  let stopping = false;
  const sockets: dgram.Socket[] = [];
  // Per client: the reply a pending attempt waits for (by transaction ID).
  const waiting = new Map<string, (b: Buffer) => void>();

  const open = async (client: number): Promise<dgram.Socket> => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, o.bind ?? '0.0.0.0', () => r()));
    s.on('message', (b, rinfo) => {
      const d = decodeReply(b);
      const at = Date.now();
      const reply: Reply = {
        at,
        action: d.action,
        from: `${rinfo.address}:${rinfo.port}`,
        ...(d.action === 'error' ? { message: d.message } : {}),
      };
      const key = `${client}:${b.length >= 8 ? b.readUInt32BE(4) : -1}`;
      const req = requests.get(key);
      if (!req) return void strays.push(reply);
      req.replies.push(reply);
      if (req.kind === 'announce' && d.action === 'announce' && req.replies.filter((r) => r.action === 'announce').length === 1)
        acks.push({ peerId: req.peerId!, sentAt: req.sentAt, at });
      waiting.get(key)?.(b);
    });
    sockets.push(s);
    return s;
  };

  const ask = (
    s: dgram.Socket,
    client: number,
    req: Omit<Request, 'client' | 'tid' | 'sentAt' | 'replies'>,
    make: (tid: number) => Buffer,
  ) =>
    new Promise<Buffer | null>((resolve) => {
      let tid = randomBytes(4).readUInt32BE(0);
      while (requests.has(`${client}:${tid}`)) tid = randomBytes(4).readUInt32BE(0);
      const key = `${client}:${tid}`;
      const timer = setTimeout(() => {
        waiting.delete(key);
        resolve(null);
      }, timeoutMs);
      waiting.set(key, (b) => {
        clearTimeout(timer);
        waiting.delete(key);
        resolve(b);
      });
      requests.set(key, { ...req, client, tid, sentAt: Date.now(), replies: [] });
      s.send(make(tid), o.port, o.host);
    });

  const loop = async (client: number): Promise<void> => {
    const s = await open(client);
    while (!stopping) {
      const peerId = randomBytes(20);
      const hex = peerId.toString('hex');
      for (;;) {
        if (stopping) return;
        const c = await ask(s, client, { kind: 'connect' }, encodeConnectRequest);
        const cr = c && decodeReply(c);
        if (cr?.action !== 'connect') {
          if (cr) await sleep(20);
          continue;
        }
        const a = await ask(s, client, { kind: 'announce', peerId: hex }, (tid) =>
          encodeAnnounceRequest({
            ...ANNOUNCE_DEFAULTS,
            connectionId: cr.connectionId,
            transactionId: tid,
            infoHash: ih,
            peerId,
            numWant: 5,
            port: s.address().port,
          }),
        );
        const ar = a && decodeReply(a);
        if (ar?.action === 'announce') {
          if (o.paceMs) await sleep(o.paceMs);
          break;
        }
        if (ar) await sleep(20); // an error reply (e.g. no majority): retry after a breath
      }
    }
  };

  const loops = Array.from({ length: o.clients ?? 4 }, (_, i) => loop(i));
  const firstAckSentAfter = (t: number): Ack | null => {
    let best: Ack | null = null;
    for (let i = acks.length - 1; i >= 0 && acks[i]!.at > t; i--)
      if (acks[i]!.sentAt > t && (!best || acks[i]!.at < best.at)) best = acks[i]!;
    return best;
  };
  return {
    record: { requests, strays, acks, target },
    firstAckSentAfter,
    async ackAfter(t, ms) {
      const end = Date.now() + ms;
      for (;;) {
        const a = firstAckSentAfter(t);
        if (a || Date.now() > end) return a;
        await sleep(20);
      }
    },
    async stop(graceMs = 1000) {
      stopping = true;
      await Promise.all(loops);
      await sleep(graceMs);
      for (const s of sockets) s.close();
    },
  };
}
