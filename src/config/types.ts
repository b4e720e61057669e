/** The tracker's settings, grouped by the part of the tracker that reads them (aquatic's config.rs shape). */

/** Where peers reach the tracker over UDP. */
export type NetworkConfig = {
  /** UDP address bound for peers; in a cluster the unicast service address only the Master binds. */
  readonly host: string;
  readonly port: number;
  /** Multicast group every instance listens on; absent when the instance runs alone. */
  readonly group: string | undefined;
  /** Interface address the group is joined on (and multicast leaves from). */
  readonly iface: string;
};

/** The cluster: broker, keepalives, votes and commits. */
export type ClusterConfig = {
  /** Broker URL (stomp://host:port or ws://…); absent = a lone instance on the in-process bus. */
  readonly broker: string | undefined;
  /** The same as a failover list, in order (empty alone). */
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly heartbeatMs: number;
  readonly voteTimeoutMs: number;
  /** Instances the cluster is built for: a commit needs OK from more than half of them (0: of the live ones). */
  readonly clusterSize: number;
  /** Longest wait to group announces into one commit. */
  readonly batchMs: number;
  /** File holding the cluster's shared secret (messages are authenticated with it); also TRACKER_CLUSTER_SECRET. */
  readonly secretFile: string | undefined;
  /** File with the broker login and passcode on two lines; also TRACKER_BROKER_LOGIN / TRACKER_BROKER_PASSCODE. */
  readonly brokerCredentials: string | undefined;
  /** PEM file of the certificate authorities trusted for stomp+ssl:// brokers (a self-signed broker's own). */
  readonly brokerCa: string | undefined;
};

/** What is kept on disk or read from it at start. */
export type StorageConfig = {
  /** SQLite mirror of the repository; emptied at shutdown. */
  readonly db: string;
  /** Folder of .torrent files registered at start (names and sizes for the UI). */
  readonly torrents: string | undefined;
  /** How long the SQLite file may trail the repository (changes gather; each row is written once per window). */
  readonly mirrorLagMs: number;
};

/** What the tracker tells clients and whom it serves. */
export type PolicyConfig = {
  readonly intervalS: number;
  /** A peer silent this long is dropped. */
  readonly peerTtlS: number;
  /** Requests per second per client address; 0 = unlimited. */
  readonly rateLimit: number;
  readonly trustIpField: boolean;
  /** Info-hash allow and deny lists (files; reloaded on SIGHUP and when they change). */
  readonly allowList: string | undefined;
  readonly denyList: string | undefined;
};

/** TCP listeners. */
export type HttpConfig = {
  /** HTTP tracker (BEP 3/23/7/48) on this port, held by the Master; absent: no HTTP. */
  readonly port: number | undefined;
  readonly host: string;
  /** Prometheus /metrics on this port on every instance; absent: only on the HTTP tracker port. */
  readonly metricsPort: number | undefined;
  readonly metricsHost: string;
};

export type Config = {
  readonly id: number;
  readonly headless: boolean;
  readonly network: NetworkConfig;
  readonly cluster: ClusterConfig;
  readonly storage: StorageConfig;
  readonly policy: PolicyConfig;
  readonly http: HttpConfig;
};

/** What resolveConfig needs: the ID, and any part of any section (the rest takes its default). */
export type ConfigInput = {
  readonly id: number;
  readonly headless?: boolean;
  readonly network?: Partial<NetworkConfig>;
  readonly cluster?: Partial<ClusterConfig>;
  readonly storage?: Partial<StorageConfig>;
  readonly policy?: Partial<PolicyConfig>;
  readonly http?: Partial<HttpConfig>;
};

export type ConfigError = { readonly ok: false; readonly error: string };
export type ConfigResult = { ok: true; config: Config } | ConfigError | { ok: 'help' };
