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
  close(): Promise<void>;
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
    close: async () => {},
  };
}

export function brokerTransport(
  urls: readonly string[],
  topic: string,
  self: number,
  access: BrokerAccess,
  log: (s: string) => void,
): Transport {
  const route = routing(self);
  const bridge = connectBroker({
    url: urls,
    topic,
    log,
    selector: route.selector,
    ...(access.login ? { login: access.login.login, passcode: access.login.passcode } : {}),
    ...(access.ca ? { ca: access.ca } : {}),
  });
  return {
    messages$: bridge.messages$,
    connected$: bridge.connected$,
    serving$: bridge.serving$,
    refused$: bridge.refused$,
    publish: (m) => void bridge.publish(m, route.headers(m)),
    publishConfirmed: (m) => bridge.publishConfirmed(m, route.headers(m)),
    close: () => bridge.close(),
  };
}
