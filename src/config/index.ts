/** Flags → a grouped, frozen Config. parseConfig checks the command line; resolveConfig fills the defaults. */
export { parseConfig } from './parse.js';
export { resolveConfig } from './resolve.js';
export { USAGE } from './usage.js';
export { OPTIONS, type Flag, type FlagSpec } from './options.js';
export type { ClusterConfig, Config, ConfigInput, ConfigResult, HttpConfig, NetworkConfig, PolicyConfig, StorageConfig } from './types.js';
