/** Broker URLs as values: one URL, or the comma-separated failover list `--broker` takes. Pure. */

export type BrokerAddress =
  /** `tls`: STOMP over TLS (stomp+ssl://, ActiveMQ's stomp+ssl connector). */
  | { readonly ok: true; readonly kind: 'tcp' | 'tls'; readonly host: string; readonly port: number }
  | { readonly ok: true; readonly kind: 'ws'; readonly url: string }
  | { readonly ok: false; readonly error: string };

export const DEFAULT_STOMP_PORT = 61613;

/** Parse a broker URL without throwing, so config validation can report it as a value. */
export function parseBrokerUrl(url: string): BrokerAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, error: `not a URL: ${url}` };
  }
  switch (u.protocol) {
    case 'ws:':
    case 'wss:':
      return { ok: true, kind: 'ws', url };
    case 'stomp:':
    case 'tcp:':
    case 'stomp+ssl:':
    case 'ssl:': {
      const host = u.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literals come bracketed
      const port = u.port === '' ? DEFAULT_STOMP_PORT : Number(u.port);
      if (host === '') return { ok: false, error: `no host in ${url}` };
      return { ok: true, kind: u.protocol === 'stomp:' || u.protocol === 'tcp:' ? 'tcp' : 'tls', host, port };
    }
    default:
      return { ok: false, error: `unsupported scheme ${u.protocol} in ${url} (use stomp://, stomp+ssl://, tcp://, ws:// or wss://)` };
  }
}

/** The URLs of a `--broker` value, in failover order (not checked: see parseBrokerList). */
export const brokerList = (text: string): string[] => text.split(',').map((u) => u.trim());

/** `--broker`: one or more URLs separated by commas, in failover order; the first bad one is the error. */
export function parseBrokerList(text: string): { ok: true; urls: readonly string[] } | { ok: false; error: string } {
  const urls = brokerList(text);
  for (const url of urls) {
    if (url === '') return { ok: false, error: 'an empty entry in the list' };
    const parsed = parseBrokerUrl(url);
    if (!parsed.ok) return parsed;
  }
  return { ok: true, urls };
}
