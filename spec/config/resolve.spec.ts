/** resolveConfig: an ID and any parts of any section → a whole Config, with the defaults and derived defaults. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveConfig } from '../../src/config/index.js';

test('an ID alone: a single instance on 0.0.0.0:6969, no group, no HTTP, db named after the ID', () => {
  assert.equal(resolveConfig({ id: 5 }), {
    id: 5,
    headless: false,
    network: { host: '0.0.0.0', port: 6969, group: undefined, iface: '127.0.0.1' },
    cluster: {
      broker: undefined,
      brokers: [],
      topic: 'udp-tracker',
      heartbeatMs: 1000,
      voteTimeoutMs: 500,
      clusterSize: 0,
      batchMs: 0,
      secretFile: undefined,
      brokerCredentials: undefined,
      brokerCa: undefined,
    },
    storage: { db: 'data/tracker-5.sqlite', torrents: undefined, mirrorLagMs: 1000 },
    policy: { intervalS: 1800, peerTtlS: 3600, rateLimit: 0, trustIpField: false, allowList: undefined, denyList: undefined },
    http: { port: undefined, host: '0.0.0.0', metricsPort: undefined, metricsHost: '127.0.0.1' },
  });
});

test('with a broker: the group is on and the service address is the interface', () => {
  const c = resolveConfig({ id: 1, cluster: { broker: 'stomp://b:1' }, network: { iface: '10.0.0.3' } });
  assert.equal(c.network, { host: '10.0.0.3', port: 6969, group: '239.192.0.1', iface: '10.0.0.3' });
  assert.is(c.http.host, '10.0.0.3', 'the HTTP tracker follows the (derived) UDP host');
});

test('given values win over derived ones', () => {
  const c = resolveConfig({
    id: 1,
    cluster: { broker: 'stomp://b:1' },
    network: { host: '10.0.0.9', group: '239.9.9.9' },
    policy: { intervalS: 60, peerTtlS: 61 },
    storage: { db: ':memory:' },
    http: { host: '::1' },
  });
  assert.equal(
    [c.network.host, c.network.group, c.policy.peerTtlS, c.storage.db, c.http.host],
    ['10.0.0.9', '239.9.9.9', 61, ':memory:', '::1'],
  );
});

test('the peer TTL is twice the interval given; a group given alone is kept; undefined means the default', () => {
  assert.is(resolveConfig({ id: 1, policy: { intervalS: 45 } }).policy.peerTtlS, 90);
  assert.is(resolveConfig({ id: 1, network: { group: '239.1.1.1' } }).network.group, '239.1.1.1');
  assert.is(resolveConfig({ id: 1, network: { port: undefined }, cluster: { heartbeatMs: undefined } }).network.port, 6969);
  assert.is(resolveConfig({ id: 1, network: { host: '10.0.0.1' } }).http.host, '10.0.0.1');
});

test('frozen through the sections; the input is not kept', () => {
  const network = { port: 7000 };
  const c = resolveConfig({ id: 1, network });
  for (const part of [c, c.network, c.cluster, c.storage, c.policy, c.http]) assert.ok(Object.isFrozen(part));
  network.port = 1;
  assert.is(c.network.port, 7000);
  assert.not.ok(Object.isFrozen(network));
});

test.run();
