/**
 * One STOMP topic as JSON in, JSON out. Built on RxStomp, which reconnects and re-subscribes by itself;
 * this file adds parsing at the edge (bad JSON is dropped and counted, never thrown into the stream),
 * a `connected$` that means "the broker has confirmed our subscription", and a bounded publish path.
 *
 * Every bridge also receives what it publishes itself (plain topic semantics): filter by sender upstream.
 * Messages on the wire when a connection drops are lost; the cluster protocol detects gaps by sequence.
 */
import { BehaviorSubject, Subject, distinctUntilChanged, type Observable, type Subscription } from 'rxjs';
import { RxStomp, RxStompState, type IMessage, type StompHeaders } from '@stomp/rx-stomp';
import { brokerList } from '../../src/bus/broker-url.js';
import { installBufferParser } from './stomp-parser.js';
import { socketFactoryFor } from './stomp-socket.js';

export type BrokerBridgeOptions = {
  /**
   * stomp://host:port (or tcp://, ws://, wss://), or several (an array, or one string separated by commas) in
   * failover order: a lost connection tries the next at once, cycling, with a growing pause after each full cycle.
   */
  readonly url: string | readonly string[];
  /** Published to and read from `/topic/<topic>`, unless `destination` names another (a queue of one's own). */
  readonly topic: string;
  readonly destination?: string;
  readonly reconnectDelayMs?: number;
  readonly login?: string;
  readonly passcode?: string;
  /** Certificate authorities trusted for stomp+ssl:// brokers (a self-signed broker's own certificate). */
  readonly ca?: Buffer;
  /**
   * A JMS selector on the subscription (ActiveMQ evaluates it on message headers and delivers only matching
   * messages; brokers without selectors ignore it and deliver everything).
   */
  readonly selector?: string;
  readonly log: (s: string) => void;
};

export type BridgeStats = {
  /** MESSAGE frames received on the topic, malformed ones included. */
  received: number;
  /** Received bodies that were not JSON; dropped. */
  malformed: number;
  /** Bodies handed to the connection. */
  published: number;
  /** publish() calls refused: not connected, closed, or not JSON-serialisable. */
  dropped: number;
};

export type BrokerBridge = {
  /** Parsed JSON bodies, hot: nothing is replayed to late subscribers. Completes on close(). */
  readonly messages$: Observable<unknown>;
  /** True once the broker has acknowledged our subscription (messages will reach us); false while down. */
  readonly connected$: Observable<boolean>;
  /** The broker we are subscribed on, null while down. */
  readonly serving$: Observable<string | null>;
  /** A broker refused our login (its ERROR frame's message); the bridge keeps retrying the list. */
  readonly refused$: Observable<string>;
  readonly stats: Readonly<BridgeStats>;
  /**
   * JSON.stringify to the topic, with extra headers (for selectors). Returns false (and counts `dropped`)
   * instead of throwing or queueing.
   */
  publish(body: unknown, headers?: Readonly<Record<string, string>>, destination?: string): boolean;
  /**
   * Like publish, but resolves true only once the broker has confirmed the frame (a STOMP receipt); false when
   * it could not be sent or the connection dropped before the receipt came.
   */
  publishConfirmed(body: unknown, headers?: Readonly<Record<string, string>>): Promise<boolean>;
  /** Disconnects gracefully, forcing the socket shut if the broker does not answer in time. */
  close(): Promise<void>;
};

const HEARTBEAT_MS = 1000; // with stompjs' tolerance x2, a silent broker is noticed within about 2 s
const CONNECT_TIMEOUT_MS = 3000; // TCP up but no CONNECTED frame: give up and retry
const CLOSE_TIMEOUT_MS = 2000;
/** After every broker of the list failed once in a row: pause before the next cycle, growing to the maximum. */
const CYCLE_PAUSE_MS = 100;
const CYCLE_PAUSE_MAX_MS = 1000;
const BRIEF_CYCLES = 5;

/**
 * Throws only for a URL scheme it cannot serve (a wiring error); everything at run time is a value.
 */
export function connectBroker(opts: BrokerBridgeOptions): BrokerBridge {
  installBufferParser();
  const destination = opts.destination ?? `/topic/${opts.topic}`;
  const urls = typeof opts.url === 'string' ? brokerList(opts.url) : opts.url;
  const failover = failoverCycle(urls);
  const stats: BridgeStats = { received: 0, malformed: 0, published: 0, dropped: 0 };
  const messages = new Subject<unknown>();
  const connected = new BehaviorSubject<boolean>(false);
  const rx = new RxStomp();

  const connectHeaders: StompHeaders = {};
  if (opts.login !== undefined) connectHeaders.login = opts.login;
  if (opts.passcode !== undefined) connectHeaders.passcode = opts.passcode;

  rx.configure({
    webSocketFactory: () => socketFactoryFor(failover.url(), opts.ca ? { tls: { ca: opts.ca } } : {})(),
    beforeConnect: () => failover.next(),
    connectHeaders,
    reconnectDelay: opts.reconnectDelayMs ?? (urls.length > 1 ? 50 : 250),
    heartbeatIncoming: HEARTBEAT_MS,
    heartbeatOutgoing: HEARTBEAT_MS,
    connectionTimeout: CONNECT_TIMEOUT_MS,
    // On a missed heartbeat, drop the socket at once rather than wait for a close handshake with a dead peer.
    discardWebsocketOnCommFailure: true,
    debug: () => {},
  });

  // The SUBSCRIBE of each (re)connection asks for a receipt; its arrival is what turns connected$ true.
  let subscriptions = 0;
  let expectedReceipt = '';
  const subHeaders = (): StompHeaders => {
    expectedReceipt = `sub-${opts.topic}-${++subscriptions}`;
    return opts.selector ? { receipt: expectedReceipt, selector: opts.selector } : { receipt: expectedReceipt };
  };

  let lastError = '';
  const serving = new BehaviorSubject<string | null>(null);
  const refused = new Subject<string>();
  const receipts = pendingReceipts();
  const subs: Subscription[] = [
    rx.connectionState$.subscribe((state) => {
      if (state === RxStompState.OPEN) return failover.opened();
      if (connected.value) opts.log(`broker ${failover.url()}: disconnected (${RxStompState[state]})`);
      connected.next(false);
      serving.next(null);
      receipts.failAll();
    }),
    rx.unhandledReceipts$.subscribe((frame) => {
      if (frame.headers['receipt-id'] !== expectedReceipt || !rx.connected()) return;
      lastError = '';
      opts.log(`broker ${failover.url()}: subscribed to ${destination}`);
      connected.next(true);
      serving.next(failover.url());
    }),
    // Repeated identical errors (a retry loop against a stopped broker) are logged once.
    rx.webSocketErrors$.subscribe((ev) => {
      const text = errorText(ev);
      if (text !== lastError) opts.log(`broker ${failover.url()}: socket error: ${text}`);
      lastError = text;
    }),
    rx.stompErrors$.subscribe((frame) => {
      const message = frame.headers.message ?? '';
      opts.log(`broker ${failover.url()}: STOMP ERROR ${message} ${frame.body}`);
      if (/password is invalid|not authori[sz]ed|authentication/i.test(message)) refused.next(`${failover.url()}: ${message}`);
    }),
    rx.watch({ destination, subHeaders }).subscribe((message: IMessage) => {
      stats.received++;
      const parsed = parseJson(message.body);
      if (parsed.ok) messages.next(parsed.value);
      else stats.malformed++;
    }),
  ];

  rx.activate();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const s of subs) s.unsubscribe(); // the watch teardown sends UNSUBSCRIBE while still connected
      connected.next(false);
      receipts.failAll();
      const graceful = await withTimeout(rx.deactivate(), CLOSE_TIMEOUT_MS);
      if (!graceful) await rx.deactivate({ force: true });
      messages.complete();
      connected.complete();
      serving.complete();
      refused.complete();
    })();
    return closing;
  };

  // Drop-and-count rather than rx-stomp's retry queue: that queue is unbounded and would replay stale
  // consensus traffic after a reconnect; the protocol's sequence numbers recover what is missed.
  const publish = (body: unknown, headers?: Readonly<Record<string, string>>, to: string = destination): boolean => {
    const text = closing === undefined && rx.connected() ? stringify(body) : undefined;
    if (text === undefined) {
      stats.dropped++;
      return false;
    }
    try {
      rx.publish({ destination: to, body: text, headers: { ...headers, 'content-type': 'application/json' }, retryIfDisconnected: false });
    } catch {
      stats.dropped++; // the connection dropped between the check and the send
      return false;
    }
    stats.published++;
    return true;
  };

  let receiptIds = 0;
  const publishConfirmed = (body: unknown, headers?: Readonly<Record<string, string>>): Promise<boolean> => {
    const receipt = `c-${++receiptIds}`;
    const confirmed = receipts.wait(receipt);
    rx.watchForReceipt(receipt, () => receipts.confirm(receipt));
    if (!publish(body, { ...headers, receipt })) receipts.fail(receipt);
    return confirmed;
  };

  return {
    messages$: messages.asObservable(),
    connected$: connected.pipe(distinctUntilChanged()),
    serving$: serving.pipe(distinctUntilChanged()),
    refused$: refused.asObservable(),
    stats,
    publish,
    publishConfirmed,
    close,
  };
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** undefined for values JSON cannot carry (undefined, functions, BigInt, cycles). */
function stringify(body: unknown): string | undefined {
  try {
    return JSON.stringify(body) as string | undefined;
  } catch {
    return undefined;
  }
}

function errorText(ev: unknown): string {
  if (typeof ev === 'object' && ev !== null) {
    const e = ev as { message?: unknown; error?: unknown };
    if (typeof e.message === 'string') return e.message;
    if (e.error instanceof Error) return e.error.message;
  }
  return String(ev);
}

/** Resolves true if `p` settled in time, false on timeout; never rejects. */
async function withTimeout(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Which broker of the list to dial: called before every connection attempt. After a connection that opened
 * and dropped, the next broker is tried at once; after every broker failed in a row, pause a little longer each
 * cycle (so a standby that takes a second to open is not hammered, and a dead list costs little).
 */
function failoverCycle(urls: readonly string[]) {
  let index = 0;
  let attempts = 0;
  let failedInARow = 0;
  let openedSinceLast = false;
  return {
    url: (): string => urls[index]!,
    opened(): void {
      openedSinceLast = true;
    },
    async next(): Promise<void> {
      if (attempts++ === 0) return;
      failedInARow = openedSinceLast ? 0 : failedInARow + 1;
      openedSinceLast = false;
      index = (index + 1) % urls.length;
      // A standby broker takes about a second to open: the first cycles pause briefly, later ones longer.
      const cycles = Math.floor(failedInARow / urls.length);
      if (cycles > 0) await sleep(Math.min(CYCLE_PAUSE_MAX_MS, CYCLE_PAUSE_MS * 2 ** Math.max(0, cycles - BRIEF_CYCLES)));
    },
  };
}

/** Receipts awaited by publishConfirmed: each settles once, true on its receipt, false on a drop or close. */
function pendingReceipts() {
  const waiting = new Map<string, (ok: boolean) => void>();
  const settle = (id: string, ok: boolean): void => {
    const resolve = waiting.get(id);
    waiting.delete(id);
    resolve?.(ok);
  };
  return {
    wait: (id: string): Promise<boolean> => new Promise<boolean>((resolve) => waiting.set(id, resolve)),
    confirm: (id: string): void => settle(id, true),
    fail: (id: string): void => settle(id, false),
    failAll(): void {
      for (const id of [...waiting.keys()]) settle(id, false);
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
