/**
 * How cluster messages travel: the in-process transport of a lone instance (nothing to tell anyone), or the
 * ActiveMQ bridge, with routing headers and a selector so the broker leaves out what this instance has no use for.
 */
import { NEVER, type Observable, of } from 'rxjs';
import { connectBroker } from '../../streams/broker/stomp-bridge.js';
import type { ClusterMessage } from '../bus/messages.js';
import { routing } from '../bus/routing.js';

export type Transport = {
  readonly messages$: Observable<unknown>;
  readonly connected$: Observable<boolean>;
  /** The broker in use (null while down, and alone). */
  readonly serving$: Observable<string | null>;
  /** A broker refused our login (never alone). */
  readonly refused$: Observable<string>;
  publish(m: ClusterMessage & { tag: string }): void;
  /** Resolves true once the broker holds the message (a receipt); false if the connection dropped first. */
  publishConfirmed(m: ClusterMessage & { tag: string }): Promise<boolean>;
  /**
   * State transfers: chunks travel on a second broker connection, to a queue of the receiver's own, so they never
   * sit in front of keepalives, votes and COMMITs (on the wire, in the broker, or in the receiver's inbox).
   */
  readonly bulk: BulkChannel;
  close(): Promise<void>;
};

export type BulkChannel = {
  /** What arrives on this instance's own transfer queue. */
  readonly messages$: Observable<unknown>;
  /** To instance `to`'s queue; false when it could not be handed to the connection (the sender retries later). */
  send(to: number, m: ClusterMessage & { tag: string }, expiresAt: number): boolean;
};

export type BrokerLogin = { readonly login: string; readonly passcode: string };
/** How to reach the brokers: the login (ActiveMQ's simple authentication) and, for stomp+ssl://, whom to trust. */
export type BrokerAccess = { readonly login?: BrokerLogin; readonly ca?: Buffer };

export function localTransport(): Transport {
  return {
    messages$: NEVER,
    connected$: of(true),
    serving$: of(null),
    refused$: NEVER,
    publish: () => {},
    publishConfirmed: () => Promise.resolve(true),
    bulk: { messages$: NEVER, send: () => false },
    close: async () => {},
  };
}

/** The queue a state transfer to instance `id` is sent to. */
export const transferQueue = (topic: string, id: number): string => `/queue/${topic}.transfer.${id}`;

export function brokerTransport(
  urls: readonly string[],
  topic: string,
  self: number,
  access: BrokerAccess,
  log: (s: string) => void,
): Transport {
  const route = routing(self);
  const login = {
    ...(access.login ? { login: access.login.login, passcode: access.login.passcode } : {}),
    ...(access.ca ? { ca: access.ca } : {}),
  };
  const bridge = connectBroker({ url: urls, topic, log, selector: route.selector, ...login });
  const bulk = connectBroker({
    url: urls,
    topic,
    destination: transferQueue(topic, self),
    log: (s) => log(`transfer channel: ${s}`),
    ...login,
  });
  return {
    messages$: bridge.messages$,
    connected$: bridge.connected$,
    serving$: bridge.serving$,
    refused$: bridge.refused$,
    publish: (m) => void bridge.publish(m, route.headers(m)),
    publishConfirmed: (m) => bridge.publishConfirmed(m, route.headers(m)),
    bulk: {
      messages$: bulk.messages$,
      // Not kept by the broker: a chunk nobody takes (its receiver died) is gone when it expires.
      send: (to, m, expiresAt) =>
        bulk.publish(m, { persistent: 'false', expires: String(Math.round(expiresAt)) }, transferQueue(topic, to)),
    },
    close: () => Promise.all([bridge.close(), bulk.close()]).then(() => {}),
  };
}
