/**
 * STOMP over plain TCP for rx-stomp/stompjs, which only know WebSocket-shaped sockets (`IStompSocket`).
 * Debian's ActiveMQ has no WebSocket transport, so `stomp://host:port` goes through `node:net`;
 * `ws://`/`wss://` still use the `ws` package for brokers that do serve STOMP over WebSocket.
 */
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { StringDecoder } from 'node:string_decoder';
import WebSocket from 'ws';
import { StompSocketState, Versions, type IStompSocket } from '@stomp/rx-stomp';
import { parseBrokerUrl } from '../../src/bus/broker-url.js';

export { type BrokerAddress, parseBrokerUrl } from '../../src/bus/broker-url.js';

export type NetStompSocketOptions = {
  /**
   * Bytes we hold for a peer that is not reading. Beyond this the connection is failed (error + close)
   * instead of growing memory without bound; stompjs then reconnects and the protocol recovers the gap.
   */
  readonly maxBufferedBytes?: number;
  /** How long close() waits for the peer's FIN before destroying the socket. */
  readonly closeTimeoutMs?: number;
  /** STOMP over TLS (stomp+ssl://): the certificate authorities to trust (e.g. a broker's self-signed one). */
  readonly tls?: { readonly ca?: Buffer };
};

/** A WebSocket look-alike over one TCP connection; every STOMP frame byte passes through unchanged. */
export class NetStompSocket implements IStompSocket {
  static readonly CONNECTING = StompSocketState.CONNECTING;
  static readonly OPEN = StompSocketState.OPEN;
  static readonly CLOSING = StompSocketState.CLOSING;
  static readonly CLOSED = StompSocketState.CLOSED;
  readonly CONNECTING = StompSocketState.CONNECTING;
  readonly OPEN = StompSocketState.OPEN;
  readonly CLOSING = StompSocketState.CLOSING;
  readonly CLOSED = StompSocketState.CLOSED;

  // Handler types are IStompSocket's (stompjs' own copy of the WebSocket ones).
  onopen: IStompSocket['onopen'] = null;
  onclose: IStompSocket['onclose'] = null;
  onerror: IStompSocket['onerror'] = null;
  onmessage: IStompSocket['onmessage'] = null;
  /** stompjs sets 'arraybuffer'; any other value delivers UTF-8 text (decoded across chunk splits). */
  binaryType = 'arraybuffer';

  readonly url: string;
  private state: StompSocketState = StompSocketState.CONNECTING;
  private readonly socket: Socket;
  private readonly text = new StringDecoder('utf8');
  /** Frames held while the socket's write buffer is over its high-water mark; written as one chunk on 'drain'. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private closedByUs = false;
  private corked = false;
  private readonly maxBufferedBytes: number;
  private readonly closeTimeoutMs: number;

  constructor(url: string, host: string, port: number, opts: NetStompSocketOptions = {}) {
    this.url = url;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 1000;
    // Small frames: Nagle would add latency. Over TLS the stream is ready once the handshake is done.
    this.socket = opts.tls
      ? tlsConnect({ host, port, ...(opts.tls.ca ? { ca: opts.tls.ca } : {}), ...(isIP(host) ? {} : { servername: host }) }).setNoDelay(
          true,
        )
      : connect({ host, port, noDelay: true });
    this.socket.on(opts.tls ? 'secureConnect' : 'connect', () => this.handleConnect());
    this.socket.on('data', (chunk: Buffer) => this.handleData(chunk));
    this.socket.on('drain', () => this.flush());
    this.socket.on('error', (error: Error) => this.onerror?.({ type: 'error', error, message: error.message }));
    this.socket.on('close', (hadError: boolean) => this.handleClose(hadError));
  }

  get readyState(): number {
    return this.state;
  }

  /** Like WebSocket.bufferedAmount: bytes accepted by send() but not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.pendingBytes + this.socket.writableLength;
  }

  send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
    // Like a WebSocket, data sent after close() is discarded silently.
    if (this.state === StompSocketState.CLOSING || this.state === StompSocketState.CLOSED) return;
    const bytes = toBuffer(data);
    if (bytes === undefined) throw new TypeError('NetStompSocket.send: Blob is not supported');
    if (bytes.length === 0) return;
    if (this.pending.length > 0 || this.socket.writableNeedDrain) {
      this.pending.push(bytes);
      this.pendingBytes += bytes.length;
      if (this.bufferedAmount > this.maxBufferedBytes)
        this.fail(new Error(`peer not reading: over ${this.maxBufferedBytes} bytes buffered`));
      return;
    }
    // Frames sent in the same tick leave in one write (fewer syscalls under load); net also queues
    // writes made while still connecting.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(bytes);
  }

  close(): void {
    if (this.state === StompSocketState.CLOSING || this.state === StompSocketState.CLOSED) return;
    this.closedByUs = true;
    if (this.state === StompSocketState.CONNECTING) {
      this.state = StompSocketState.CLOSING;
      this.socket.destroy();
      return;
    }
    this.state = StompSocketState.CLOSING;
    // Whatever stompjs already sent (e.g. DISCONNECT) still goes out ahead of our FIN.
    const rest = this.takePending();
    if (rest !== undefined) this.socket.end(rest);
    else this.socket.end();
    // A peer that never answers our FIN must not keep us CLOSING (stompjs waits for onclose).
    setTimeout(() => this.socket.destroy(), this.closeTimeoutMs).unref();
  }

  /**
   * stompjs calls this on a missed heartbeat. Abort with a reset: a plain close would leave frames queued in the
   * kernel (sent into a dead link) to reach the broker much later, e.g. a stale COORDINATOR after a partition heals.
   */
  terminate(): void {
    if (this.state === StompSocketState.CLOSED) return;
    this.closedByUs = true;
    this.state = StompSocketState.CLOSING;
    this.pending = [];
    this.pendingBytes = 0;
    this.socket.resetAndDestroy(); // emits 'close'
  }

  private handleConnect(): void {
    if (this.state !== StompSocketState.CONNECTING) return;
    this.state = StompSocketState.OPEN;
    this.onopen?.({ type: 'open' });
  }

  private handleData(chunk: Buffer): void {
    if (this.state !== StompSocketState.OPEN) return; // after close(): like WebSocket, no more messages
    // Chunks arrive at arbitrary boundaries; stompjs' parser keeps state between them.
    const data = this.binaryType === 'arraybuffer' ? exactArrayBuffer(chunk) : this.text.write(chunk);
    if (typeof data === 'string' && data.length === 0) return; // only part of a multi-byte character so far
    this.onmessage?.({ type: 'message', data });
  }

  private flush(): void {
    const rest = this.takePending();
    if (rest !== undefined && this.state === StompSocketState.OPEN) this.socket.write(rest);
  }

  private takePending(): Buffer | undefined {
    if (this.pending.length === 0) return undefined;
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return all;
  }

  private fail(error: Error): void {
    this.state = StompSocketState.CLOSING; // later sends are discarded until 'close' arrives
    this.pending = [];
    this.pendingBytes = 0;
    this.socket.destroy(error); // emits 'error' then 'close'
  }

  private handleClose(hadError: boolean): void {
    if (this.state === StompSocketState.CLOSED) return;
    this.state = StompSocketState.CLOSED;
    this.pending = [];
    this.pendingBytes = 0;
    const wasClean = this.closedByUs && !hadError;
    this.onclose?.({ type: 'close', code: wasClean ? 1000 : 1006, reason: hadError ? 'transport error' : '', wasClean });
  }
}

/** Copy to a standalone ArrayBuffer: a Buffer's `.buffer` may be a shared pool holding other data. */
function exactArrayBuffer(chunk: Buffer): ArrayBuffer {
  const copy = new ArrayBuffer(chunk.byteLength);
  new Uint8Array(copy).set(chunk);
  return copy;
}

/** Copies binary input, since the caller may reuse its buffer after send() returns (WebSocket semantics). */
function toBuffer(data: string | ArrayBufferLike | Blob | ArrayBufferView): Buffer | undefined {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (data instanceof ArrayBuffer || data instanceof SharedArrayBuffer) return Buffer.from(new Uint8Array(data));
  return undefined; // Blob: reading it is async and would reorder frames; stompjs never sends one
}

/** The STOMP subprotocols stompjs would offer if it created the WebSocket itself. */
const STOMP_SUBPROTOCOLS = Versions.default.protocolVersions();

/**
 * A `webSocketFactory` for rx-stomp. Throws (once, at wiring time) for a URL it cannot serve;
 * use parseBrokerUrl first to get that as a value.
 */
export function socketFactoryFor(url: string, opts: NetStompSocketOptions = {}): () => IStompSocket {
  const address = parseBrokerUrl(url);
  if (!address.ok) throw new TypeError(address.error);
  if (address.kind === 'ws') {
    return () => new WebSocket(address.url, STOMP_SUBPROTOCOLS) as unknown as IStompSocket;
  }
  if (address.kind === 'tls') return () => new NetStompSocket(url, address.host, address.port, { ...opts, tls: opts.tls ?? {} });
  return () => new NetStompSocket(url, address.host, address.port, opts);
}
