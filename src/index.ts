/**
 * The keypool package: a typed client of keypool.v1.KeyService. See docs/client-guide.md.
 */
export { createKeyPoolClient, KeyPoolClient } from "./client/key-pool-client.js";
export type { KeyPoolClientEvents } from "./client/key-pool-client.js";
export { KeepAliveHold, LeaseHold } from "./client/key-hold.js";
export type { KeyHoldEvents } from "./client/key-hold.js";
export { KeyPoolClientError } from "./client/errors.js";
export type { StatusName } from "./client/errors.js";
export type { KeyPoolClientOptions, TlsOptions } from "./client/options.js";
export { DEFAULT_RETRY_POLICY } from "./client/retry.js";
export type { RetryPolicy } from "./client/retry.js";
export { systemScheduler } from "./client/scheduler.js";
export type { Scheduler, TimerHandle } from "./client/scheduler.js";
export type {
  AcquireOptions,
  CallOptions,
  HoldReleaseOptions,
  KeepAliveOutcome,
  KeyRef,
  KeyState,
  LeasedKey,
  ListOptions,
  LostReason,
  PoolCallOptions,
  PoolKey,
  PoolStats,
  ReleaseOptions,
  UnfencedRelease,
} from "./client/types.js";
export { isKey, redactKey } from "./pool/key-format.js";
