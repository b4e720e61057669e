/** Counting replies per request: a raw UDP socket that records every datagram it gets, and the check on them. */
import dgram from 'node:dgram';
import { decodeReply } from '../../src/protocol/decode-reply.js';

export type Heard = { from: string; tid: number; reply: ReturnType<typeof decodeReply> };

export type Listener = {
  readonly socket: dgram.Socket;
  readonly heard: Heard[];
  send(b: Buffer, port: number, host: string): void;
  close(): Promise<void>;
};

/** A socket on 127.0.0.1 (multicast leaves from there too) that records every reply with its sender. */
export async function listener(): Promise<Listener> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  socket.setMulticastInterface('127.0.0.1');
  const heard: Heard[] = [];
  socket.on('message', (m, r) =>
    heard.push({ from: `${r.address}:${r.port}`, tid: m.length >= 8 ? m.readUInt32BE(4) : -1, reply: decodeReply(m) }),
  );
  return {
    socket,
    heard,
    send: (b, port, host) => socket.send(b, port, host),
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}

/** Transaction IDs of `tids` that have at least one reply so far. */
export const answered = (tids: readonly number[], heard: readonly Heard[]): number => {
  const got = new Set(heard.map((h) => h.tid));
  return tids.filter((t) => got.has(t)).length;
};

/**
 * What is wrong with the replies to `tids`: each must be answered exactly once, with `action`, from `from`, and
 * nothing else may come. Empty when all is well (one line per fault, so a failure names the request).
 */
export function onceEach(tids: readonly number[], heard: readonly Heard[], from: string, action: string): string[] {
  const wanted = new Set(tids);
  const problems = heard.filter((h) => !wanted.has(h.tid)).map((h) => `unexpected reply to transaction ${h.tid}`);
  for (const tid of tids) {
    const rs = heard.filter((h) => h.tid === tid);
    if (rs.length !== 1) problems.push(`transaction ${tid}: ${rs.length} replies`);
    for (const r of rs) {
      if (r.from !== from) problems.push(`transaction ${tid}: reply from ${r.from}`);
      if (r.reply.action !== action) problems.push(`transaction ${tid}: ${r.reply.action} reply`);
    }
  }
  return problems;
}
