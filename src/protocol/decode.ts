/** Pure BEP 15 request decoder: bytes in, a typed request or an error value out. Never throws. */
import {
  Action,
  ANNOUNCE_LEN,
  HASH_LEN,
  HEADER_LEN,
  MAX_SCRAPE_HASHES,
  OFF_ACTION,
  OFF_CONNECTION_ID,
  OFF_DOWNLOADED,
  OFF_EVENT,
  OFF_INFO_HASH,
  OFF_IP,
  OFF_KEY,
  OFF_LEFT,
  OFF_NUM_WANT,
  OFF_PEER_ID,
  OFF_PORT,
  OFF_TRANSACTION_ID,
  OFF_UPLOADED,
  PROTOCOL_ID,
  type EventCode,
} from './constants.js';
import type { DecodeDrop, Decoded } from './types.js';

const drop = (reason: DecodeDrop): Decoded => ({ ok: false, error: { kind: 'drop', reason } });
const refuse = (transactionId: number, message: string): Decoded => ({
  ok: false,
  error: { kind: 'reply', transactionId, message },
});

export function decodeRequest(buf: Buffer): Decoded {
  if (buf.length < HEADER_LEN) return drop('short-datagram');
  const connectionId = buf.readBigUInt64BE(OFF_CONNECTION_ID);
  const action = buf.readUInt32BE(OFF_ACTION);
  const transactionId = buf.readUInt32BE(OFF_TRANSACTION_ID);

  switch (action) {
    case Action.connect:
      // A connect without the magic is most likely not BitTorrent at all: answer nothing.
      if (connectionId !== PROTOCOL_ID) return drop('no-magic');
      return { ok: true, request: { action: 'connect', transactionId } };

    case Action.announce: {
      if (buf.length < ANNOUNCE_LEN) return refuse(transactionId, 'announce shorter than 98 bytes');
      const event = buf.readUInt32BE(OFF_EVENT);
      if (event > 3) return refuse(transactionId, 'unknown announce event');
      // Bytes past 98 are BEP 41 options: accepted and ignored.
      return {
        ok: true,
        request: {
          action: 'announce',
          connectionId,
          transactionId,
          infoHash: Buffer.from(buf.subarray(OFF_INFO_HASH, OFF_INFO_HASH + HASH_LEN)),
          peerId: Buffer.from(buf.subarray(OFF_PEER_ID, OFF_PEER_ID + HASH_LEN)),
          downloaded: buf.readBigUInt64BE(OFF_DOWNLOADED),
          left: buf.readBigUInt64BE(OFF_LEFT),
          uploaded: buf.readBigUInt64BE(OFF_UPLOADED),
          event: event as EventCode,
          ip: buf.readUInt32BE(OFF_IP),
          key: buf.readUInt32BE(OFF_KEY),
          numWant: buf.readInt32BE(OFF_NUM_WANT),
          port: buf.readUInt16BE(OFF_PORT),
        },
      };
    }

    case Action.scrape: {
      const body = buf.length - HEADER_LEN;
      if (body === 0) return refuse(transactionId, 'scrape without info hashes');
      if (body % HASH_LEN !== 0) return refuse(transactionId, 'scrape body is not a whole number of 20-byte hashes');
      const count = body / HASH_LEN;
      if (count > MAX_SCRAPE_HASHES) return refuse(transactionId, `too many info hashes (max ${MAX_SCRAPE_HASHES})`);
      const infoHashes: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        const at = HEADER_LEN + i * HASH_LEN;
        infoHashes.push(Buffer.from(buf.subarray(at, at + HASH_LEN)));
      }
      return { ok: true, request: { action: 'scrape', connectionId, transactionId, infoHashes } };
    }

    default:
      return refuse(transactionId, 'unknown action');
  }
}
