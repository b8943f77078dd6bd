export { KeyPool, DEFAULT_CATCH_UP_BUDGET } from "./key-pool.js";
export { MAX_GENERATE, MAX_WAIT_MS, messages, keysToGenerate, isPoolName, assertPoolSettings } from "./rules.js";
export { KeyPoolError, type KeyPoolErrorCode } from "./errors.js";
export { assertKey, assertLeaseId, isKey, isLeaseId, redactKey, KEY_LENGTH, KEY_PREFIX } from "./key-format.js";
export type {
  KeyInfo, KeepAliveResult, LeaseRef, LeaseResult, PoolCounters, PoolOptions, PoolSettings, PoolStats, RenewOutcome,
} from "./types.js";
export { DEFAULT_MAX_LEASE_MS, NOT_HELD, REFUSALS, maxLeaseRefusal, refusalError, type LeaseEndReason, type LeaseRefusal } from "./lease-refusals.js";
