/** Pure decoder of tracker replies: the client side, used by tests, the replayer and the load generator. */
import { Action, ANNOUNCE_REPLY_HEADER_LEN, CONNECT_REPLY_LEN, SCRAPE_REPLY_ENTRY_LEN } from './constants.js';
import type { ScrapeEntry } from './types.js';

export type Reply =
  | { readonly action: 'connect'; readonly transactionId: number; readonly connectionId: bigint }
  | {
      readonly action: 'announce';
      readonly transactionId: number;
      readonly interval: number;
      readonly leechers: number;
      readonly seeders: number;
      readonly peers: Buffer;
    }
  | { readonly action: 'scrape'; readonly transactionId: number; readonly entries: readonly ScrapeEntry[] }
  | { readonly action: 'error'; readonly transactionId: number; readonly message: string };

export function decodeReply(buf: Buffer): Reply | { readonly action: 'invalid'; readonly reason: string } {
  if (buf.length < 8) return { action: 'invalid', reason: 'reply shorter than 8 bytes' };
  const action = buf.readUInt32BE(0);
  const transactionId = buf.readUInt32BE(4);
  switch (action) {
    case Action.connect:
      if (buf.length < CONNECT_REPLY_LEN) return { action: 'invalid', reason: 'short connect reply' };
      return { action: 'connect', transactionId, connectionId: buf.readBigUInt64BE(8) };
    case Action.announce:
      if (buf.length < ANNOUNCE_REPLY_HEADER_LEN) return { action: 'invalid', reason: 'short announce reply' };
      return {
        action: 'announce',
        transactionId,
        interval: buf.readUInt32BE(8),
        leechers: buf.readUInt32BE(12),
        seeders: buf.readUInt32BE(16),
        peers: buf.subarray(ANNOUNCE_REPLY_HEADER_LEN),
      };
    case Action.scrape: {
      if ((buf.length - 8) % SCRAPE_REPLY_ENTRY_LEN !== 0) return { action: 'invalid', reason: 'ragged scrape reply' };
      const entries: ScrapeEntry[] = [];
      for (let at = 8; at < buf.length; at += SCRAPE_REPLY_ENTRY_LEN) {
        entries.push({ seeders: buf.readUInt32BE(at), completed: buf.readUInt32BE(at + 4), leechers: buf.readUInt32BE(at + 8) });
      }
      return { action: 'scrape', transactionId, entries };
    }
    case Action.error:
      return { action: 'error', transactionId, message: buf.subarray(8).toString('utf8') };
    default:
      return { action: 'invalid', reason: `unknown action ${action}` };
  }
}
