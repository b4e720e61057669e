/** BEP 15 wire constants. Offsets are named so the codec reads like the spec's tables. */
export const PROTOCOL_ID = 0x41727101980n;

export const Action = { connect: 0, announce: 1, scrape: 2, error: 3 } as const;
export type ActionCode = (typeof Action)[keyof typeof Action];

export const Event = { none: 0, completed: 1, started: 2, stopped: 3 } as const;
export type EventCode = (typeof Event)[keyof typeof Event];

/** Common request header: connection_id u64, action u32, transaction_id u32. */
export const HEADER_LEN = 16;
export const OFF_CONNECTION_ID = 0;
export const OFF_ACTION = 8;
export const OFF_TRANSACTION_ID = 12;

/** Announce request body offsets (after the header). */
export const ANNOUNCE_LEN = 98;
export const OFF_INFO_HASH = 16;
export const OFF_PEER_ID = 36;
export const OFF_DOWNLOADED = 56;
export const OFF_LEFT = 64;
export const OFF_UPLOADED = 72;
export const OFF_EVENT = 80;
export const OFF_IP = 84;
export const OFF_KEY = 88;
export const OFF_NUM_WANT = 92;
export const OFF_PORT = 96;

export const HASH_LEN = 20;
/** About 74 hashes fit a 1500-byte reply; more is refused. */
export const MAX_SCRAPE_HASHES = 74;

export const CONNECT_REPLY_LEN = 16;
export const ANNOUNCE_REPLY_HEADER_LEN = 20;
export const SCRAPE_REPLY_ENTRY_LEN = 12;

/** Compact peers (BEP 23): address + u16 port. */
export const COMPACT_V4_LEN = 6;
export const COMPACT_V6_LEN = 18;
