export { KeyPool, MAX_GENERATE, DEFAULT_CATCH_UP_BUDGET } from "./key-pool.js";
export { KeyPoolError, type KeyPoolErrorCode } from "./errors.js";
export { assertKey, assertLeaseId, isKey, isLeaseId, redactKey, KEY_LENGTH, KEY_PREFIX } from "./key-format.js";
export type { KeyInfo, KeepAliveResult, PoolCounters, PoolOptions, PoolSettings, PoolStats } from "./types.js";
