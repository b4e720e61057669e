/**
 * The HTTP face of the tracker (BEP 3 announce, BEP 48 scrape) and the Prometheus `/metrics` endpoint, on
 * node:http. It only parses, routes and writes: what an announce or scrape means is the caller's `handle`, which
 * returns the bencoded body. Bad queries get 200 with a bencoded `failure reason` (what trackers do: clients show
 * that text); unknown paths 404; other methods on known paths 405. Nothing here throws at the caller: start-up
 * failures are values, and request, socket and handler errors are answered where possible and logged.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { parseTarget, type HttpFrom, type HttpTrackerRequest } from '../src/http/query.js';

export type { HttpFrom };
import { failureReply } from '../src/http/replies.js';

export type HttpAction = 'announce' | 'scrape' | 'metrics' | 'other';
/** `failure`: a bad query answered with a `failure reason`; `error`: the handler or the metrics source failed. */
export type HttpOutcome = 'ok' | 'failure' | 'not-found' | 'bad-method' | 'too-long' | 'body' | 'error';
export type HttpRequestEvent = { readonly action: HttpAction; readonly outcome: HttpOutcome };

export type HttpTrackerOptions = {
  readonly host: string;
  /** 0 picks a free port (tests); the bound one is in the result. */
  readonly port: number;
  /**
   * Answers a well-formed announce or scrape with a bencoded body (a failure reply is fine too). Without it
   * /announce and /scrape are 404: a metrics-only listener (each cluster instance's own, while only the Master
   * serves peers).
   */
  readonly handle?: (req: HttpTrackerRequest, from: HttpFrom) => Promise<Buffer>;
  /** Prometheus text exposition; without it /metrics is 404. */
  readonly metrics?: () => Promise<string>;
  readonly log: (line: string) => void;
  /** Told about every routed request, including the ones `handle` never sees (bad queries, 404, 405, …). */
  readonly onRequest?: (e: HttpRequestEvent) => void;
  /** Longest request target accepted (bytes); longer gets 414. */
  readonly maxTargetBytes?: number;
};

export type HttpTrackerServer = { readonly port: number; close(): Promise<void> };

export type StartResult = { ok: true; server: HttpTrackerServer } | { ok: false; error: string };

// A full BEP 48 scrape of 74 hashes, each %-encoded (up to 60 bytes), is about 5.3 KB.
export const DEFAULT_MAX_TARGET_BYTES = 6144;
/** Request line plus headers: anything beyond is refused by node's parser (431) before we see it. */
const MAX_HEADER_BYTES = 8192;
/** Whole request (line and headers) must arrive within this; slow-loris connections are cut. */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;
/** A socket with no traffic for this long is closed: bounds a handler that never answers. */
const IDLE_TIMEOUT_MS = 60_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;

const TRACKER_CONTENT_TYPE = 'text/plain';
const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Reply = { status: number; body: Buffer | string; type: string; headers?: Record<string, string> };

export function startHttpTracker(opts: HttpTrackerOptions): Promise<StartResult> {
  const maxTarget = opts.maxTargetBytes ?? DEFAULT_MAX_TARGET_BYTES;
  const log = opts.log;
  const tell = (action: HttpAction, outcome: HttpOutcome): void => {
    try {
      opts.onRequest?.({ action, outcome });
    } catch (e) {
      log(`HTTP request observer failed: ${message(e)}`);
    }
  };

  const server = http.createServer({
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // HTTP/1.0 clients and simple scripts may leave Host out; it means nothing to a tracker.
    requireHostHeader: false,
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.setTimeout(IDLE_TIMEOUT_MS); // no 'timeout' listener: node destroys the idle socket

  server.on('request', (req, res) => {
    res.on('error', (e) => log(`HTTP response error: ${message(e)}`));
    req.on('error', (e) => log(`HTTP request error: ${message(e)}`));
    void route(req).then(
      (r) => write(res, r, log),
      (e) => {
        // route() catches what it awaits; this is the last net under it.
        log(`HTTP request failed: ${message(e)}`);
        write(res, { status: 500, body: failureReply('internal error'), type: TRACKER_CONTENT_TYPE }, log);
      },
    );
  });

  // Malformed requests, oversize headers, timeouts and resets arrive here, not as requests.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    log(`HTTP client error from ${socket.remoteAddress ?? '?'}: ${err.code ?? err.message}`);
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  server.on('connection', (socket: Socket) => {
    socket.on('error', (e) => log(`HTTP socket error: ${message(e)}`));
  });

  async function route(req: http.IncomingMessage): Promise<Reply> {
    const target = req.url ?? '';
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const action: HttpAction =
      path === '/announce' && opts.handle
        ? 'announce'
        : path === '/scrape' && opts.handle
          ? 'scrape'
          : path === '/metrics' && opts.metrics
            ? 'metrics'
            : 'other';
    // A request body is never read: close the connection after answering so it is not parsed as a request.
    const hasBody =
      req.headers['transfer-encoding'] !== undefined ||
      (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    const close = hasBody ? { Connection: 'close' } : undefined;
    if (action === 'other') {
      tell(action, 'not-found');
      return { status: 404, body: 'not found\n', type: 'text/plain; charset=utf-8', headers: close };
    }
    if (req.method !== 'GET') {
      tell(action, 'bad-method');
      return { status: 405, body: 'method not allowed\n', type: 'text/plain; charset=utf-8', headers: { Allow: 'GET', ...close } };
    }
    if (hasBody) {
      tell(action, 'body');
      return { status: 400, body: failureReply('a GET request carries no body'), type: TRACKER_CONTENT_TYPE, headers: close };
    }
    if (target.length > maxTarget) {
      tell(action, 'too-long');
      return { status: 414, body: failureReply(`request target longer than ${maxTarget} bytes`), type: TRACKER_CONTENT_TYPE };
    }

    if (action === 'metrics') {
      try {
        const text = await opts.metrics!();
        tell(action, 'ok');
        return { status: 200, body: text, type: METRICS_CONTENT_TYPE };
      } catch (e) {
        log(`metrics collection failed: ${message(e)}`);
        tell(action, 'error');
        return { status: 500, body: 'metrics unavailable\n', type: 'text/plain; charset=utf-8' };
      }
    }

    const handle = opts.handle!; // action is announce or scrape only when there is a handler
    const parsed = parseTarget(target);
    if (!parsed.ok) {
      // Only /announce and /scrape reach here, so `not-found` cannot happen; answered alike all the same.
      tell(action, 'failure');
      const reason = parsed.kind === 'bad-request' ? parsed.failureReason : 'unknown path';
      return { status: 200, body: failureReply(reason), type: TRACKER_CONTENT_TYPE };
    }
    const address = req.socket.remoteAddress;
    const port = req.socket.remotePort;
    if (address === undefined || port === undefined) {
      // The peer is already gone; nobody will read an answer.
      tell(action, 'error');
      return { status: 500, body: failureReply('connection closed'), type: TRACKER_CONTENT_TYPE };
    }
    try {
      const body = await handle(parsed.request, { address, port });
      tell(action, 'ok');
      return { status: 200, body, type: TRACKER_CONTENT_TYPE };
    } catch (e) {
      log(`HTTP ${action} handler failed: ${message(e)}`);
      tell(action, 'error');
      return { status: 500, body: failureReply('internal error'), type: TRACKER_CONTENT_TYPE };
    }
  }

  return new Promise<StartResult>((resolve) => {
    const onListenError = (e: Error): void =>
      resolve({ ok: false, error: `cannot listen on http://${opts.host}:${opts.port}: ${message(e)}` });
    server.once('error', onListenError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onListenError);
      server.on('error', (e) => log(`HTTP server error: ${message(e)}`));
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : opts.port;
      let closing: Promise<void> | null = null;
      resolve({
        ok: true,
        server: {
          port,
          close() {
            closing ??= new Promise<void>((done) => {
              server.close(() => done());
              server.closeAllConnections(); // keep-alive sockets would otherwise hold close() open
            });
            return closing;
          },
        },
      });
    });
  });
}

function write(res: http.ServerResponse, r: Reply, log: (line: string) => void): void {
  if (res.destroyed || res.writableEnded || res.headersSent) return; // the client left while we worked
  const body = typeof r.body === 'string' ? Buffer.from(r.body, 'utf8') : r.body;
  try {
    res.writeHead(r.status, { 'Content-Type': r.type, 'Content-Length': String(body.length), ...r.headers });
    res.end(body);
  } catch (e) {
    log(`HTTP reply could not be written: ${message(e)}`);
    res.destroy();
  }
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
