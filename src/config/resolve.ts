/** Defaults and derived defaults: the one place a setting left out gets its value. */
import { brokerList } from '../bus/broker-url.js';
import { OPTIONS } from './options.js';
import type { Config, ConfigInput } from './types.js';

/**
 * A complete, frozen Config from an ID and any parts of any section. Values given are kept (parseConfig
 * checks flags before calling this); what is missing is filled from the option table, or derived:
 * the peer TTL is twice the interval; the multicast group is on only with a broker; the UDP host is the
 * interface address in a cluster and the wildcard alone; the HTTP tracker's host is the UDP host.
 */
export function resolveConfig(input: ConfigInput): Config {
  const { id, network = {}, cluster = {}, storage = {}, policy = {}, http = {} } = input;
  const broker = cluster.broker;
  const iface = network.iface ?? OPTIONS.iface.fallback;
  // In a cluster the service address is a unicast address only the Master binds: a wildcard would also catch
  // the group's datagrams (answered twice). It defaults to the group's interface.
  const host = network.host ?? (broker ? iface : OPTIONS.host.fallback);
  const intervalS = policy.intervalS ?? OPTIONS.interval.fallback;
  return Object.freeze({
    id,
    headless: input.headless ?? false,
    network: Object.freeze({
      host,
      port: network.port ?? OPTIONS.port.fallback,
      group: network.group ?? (broker ? OPTIONS.group.fallback : undefined),
      iface,
    }),
    cluster: Object.freeze({
      broker,
      brokers: broker === undefined ? [] : brokerList(broker),
      topic: cluster.topic ?? OPTIONS.topic.fallback,
      heartbeatMs: cluster.heartbeatMs ?? OPTIONS.heartbeat.fallback,
      voteTimeoutMs: cluster.voteTimeoutMs ?? OPTIONS['vote-timeout'].fallback,
      clusterSize: cluster.clusterSize ?? OPTIONS['cluster-size'].fallback,
      batchMs: cluster.batchMs ?? OPTIONS['batch-ms'].fallback,
      secretFile: cluster.secretFile,
      brokerCredentials: cluster.brokerCredentials,
      brokerCa: cluster.brokerCa,
    }),
    storage: Object.freeze({
      db: storage.db ?? OPTIONS.db.fallback.replace('<id>', String(id)),
      torrents: storage.torrents,
      mirrorLagMs: storage.mirrorLagMs ?? OPTIONS['mirror-lag'].fallback,
    }),
    policy: Object.freeze({
      intervalS,
      peerTtlS: policy.peerTtlS ?? 2 * intervalS,
      rateLimit: policy.rateLimit ?? OPTIONS['rate-limit'].fallback,
      trustIpField: policy.trustIpField ?? false,
      allowList: policy.allowList,
      denyList: policy.denyList,
    }),
    http: Object.freeze({
      port: http.port,
      host: http.host ?? host,
      metricsPort: http.metricsPort,
      metricsHost: http.metricsHost ?? OPTIONS['metrics-host'].fallback,
    }),
  });
}
