export { KeyPool, DEFAULT_CATCH_UP_BUDGET } from "./key-pool.js";
export { SlotTable } from "./slot-table.js";
export {
  DEFAULT_MAX_COOLDOWN_MS, DEFAULT_PAGE_SIZE, DEFAULT_POOL, MAX_GENERATE, MAX_IMPORT, MAX_PAGE_SIZE, MAX_WAIT_MS, POOL_NAME_RULE,
  messages, keysToGenerate, isPoolName, assertCooldown, assertPoolName, assertPoolSettings, pageSizeOf,
} from "./rules.js";
export { KeyPoolError, type KeyPoolErrorCode } from "./errors.js";
export { assertKey, assertLeaseId, isGeneratedKey, isKey, isLeaseId, keyHash, redactKey, KEY_LENGTH, KEY_PREFIX } from "./key-format.js";
export type {
  KeyInfo, KeyState, KeepAliveResult, LeaseRef, LeaseResult, ListPage, ListQuery, PoolCounters, PoolOptions, PoolSettings, PoolStats,
  RenewOutcome,
} from "./types.js";
export { DEFAULT_MAX_LEASE_MS, NOT_HELD, REFUSALS, maxLeaseRefusal, refusalError, type LeaseEndReason, type LeaseRefusal } from "./lease-refusals.js";
