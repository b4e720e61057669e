/** A small BEP 15 client over a real UDP socket, for tests: typed requests, replies matched by transaction ID. */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { decodeReply, type Reply } from '../../src/protocol/decode-reply.js';
import {
  ANNOUNCE_DEFAULTS,
  encodeAnnounceRequest,
  encodeConnectRequest,
  encodeScrapeRequest,
  type AnnounceFields,
} from '../../src/protocol/encode.js';

/**
 * A BEP 15 announce as the specs send it unless told otherwise: a new peer ID, `started`, nothing transferred,
 * 1000 bytes left, the tracker's default number of peers, the sender's address.
 */
export function announceRequest(f: Partial<AnnounceFields> & Pick<AnnounceFields, 'connectionId' | 'transactionId'>): Buffer {
  return encodeAnnounceRequest({ ...ANNOUNCE_DEFAULTS, infoHash: randomBytes(20), peerId: randomBytes(20), port: 6881, ...f });
}

export type TestClient = {
  readonly port: number;
  /** Send raw bytes; resolve with the first reply within `ms`, or null if none came. */
  raw(data: Buffer, ms?: number): Promise<Buffer | null>;
  connect(): Promise<bigint>;
  announce(fields: Partial<AnnounceFields> & { infoHash: Buffer }, connectionId?: bigint): Promise<Reply>;
  scrape(hashes: Buffer[], connectionId?: bigint): Promise<Reply>;
  close(): Promise<void>;
};

/** `timeoutMs`: how long a typed request waits for its reply before failing (the caller may retry). */
export async function openClient(target: { host: string; port: number }, bindHost = '127.0.0.1', timeoutMs = 1500): Promise<TestClient> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, bindHost, () => r()));
  // Multicast leaves from the interface of the bound address (127.0.0.1, or a namespace's own address).
  if (target.host.startsWith('239.')) socket.setMulticastInterface(bindHost === '0.0.0.0' ? '127.0.0.1' : bindHost);
  // Typed requests wait for their own transaction ID (late replies to junk must not satisfy them); raw sends take any.
  type Waiter = { tid: number | null; done: (b: Buffer) => void };
  const waiting: Waiter[] = [];
  socket.on('message', (b) => {
    const tid = b.length >= 8 ? b.readUInt32BE(4) : -1;
    let i = waiting.findIndex((w) => w.tid === tid);
    if (i < 0) i = waiting.findIndex((w) => w.tid === null);
    if (i >= 0) waiting.splice(i, 1)[0]!.done(b);
  });

  const send = (data: Buffer, ms: number, tid: number | null): Promise<Buffer | null> =>
    new Promise((resolve) => {
      const w: Waiter = {
        tid,
        done: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
      };
      const timer = setTimeout(() => {
        const i = waiting.indexOf(w);
        if (i >= 0) waiting.splice(i, 1);
        resolve(null);
      }, ms);
      waiting.push(w);
      socket.send(data, target.port, target.host);
    });
  const raw = (data: Buffer, ms = 1500): Promise<Buffer | null> => send(data, ms, null);

  const expectReply = async (data: Buffer): Promise<Reply> => {
    const b = await send(data, timeoutMs, data.readUInt32BE(12));
    if (!b) throw new Error('no reply from tracker');
    const r = decodeReply(b);
    if (r.action === 'invalid') throw new Error(`invalid reply: ${r.reason}`);
    return r;
  };
  const tid = (): number => randomBytes(4).readUInt32BE(0);

  const client: TestClient = {
    port: socket.address().port,
    raw,
    async connect() {
      const r = await expectReply(encodeConnectRequest(tid()));
      if (r.action !== 'connect') throw new Error(`expected connect reply, got ${r.action}`);
      return r.connectionId;
    },
    async announce(f, cid) {
      const connectionId = cid ?? (await client.connect());
      return expectReply(announceRequest({ connectionId, transactionId: tid(), port: client.port, ...f }));
    },
    async scrape(hashes, cid) {
      const connectionId = cid ?? (await client.connect());
      return expectReply(encodeScrapeRequest(connectionId, tid(), hashes));
    },
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
  return client;
}
