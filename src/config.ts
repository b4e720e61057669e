/**
 * Bridge until the tracker takes the grouped Config (src/config/): the flat field names src/tracker.ts picks
 * its TrackerConfig from. Nothing else should import this; delete it once tracker.ts imports './config/index.js'.
 */
import type { ClusterConfig, HttpConfig, NetworkConfig, PolicyConfig, StorageConfig } from './config/index.js';

export type Config = { readonly id: number; readonly headless: boolean } & NetworkConfig & ClusterConfig & StorageConfig & PolicyConfig & {
  readonly httpPort: HttpConfig['port'];
  readonly httpHost: HttpConfig['host'];
  readonly metricsPort: HttpConfig['metricsPort'];
  readonly metricsHost: HttpConfig['metricsHost'];
};
