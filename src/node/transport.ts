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
  publish(m: ClusterMessage & { tag: string }): void;
  close(): Promise<void>;
};

export type BrokerLogin = { readonly login: string; readonly passcode: string };

export function localTransport(): Transport {
  return { messages$: NEVER, connected$: of(true), publish: () => {}, close: async () => {} };
}

export function brokerTransport(
  url: string,
  topic: string,
  self: number,
  login: BrokerLogin | undefined,
  log: (s: string) => void,
): Transport {
  const route = routing(self);
  const bridge = connectBroker({
    url,
    topic,
    log,
    selector: route.selector,
    ...(login ? { login: login.login, passcode: login.passcode } : {}),
  });
  return {
    messages$: bridge.messages$,
    connected$: bridge.connected$,
    publish: (m) => void bridge.publish(m, route.headers(m)),
    close: () => bridge.close(),
  };
}
