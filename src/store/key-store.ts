import type { KeepAliveResult, KeyInfo, PoolCounters, PoolStats } from "../pool/index.js";

/**
 * One pool of keys behind the KeyService, whatever keeps it (memory, Redis, disk). Every method
 * follows the KeyService contract (see proto/keypool/v1/keypool.proto) and rejects with a
 * `KeyPoolError` a caller can act on. Every method is O(1) or O(log n) in the pool's size
 * (O(k) for k keys named); expiry work is bounded per call.
 */
export interface KeyStore {
  /** A short name for logs: "memory", "redis", "durable". */
  readonly kind: string;
  /** Adds `count` (0 means 1, at most 1000) new free keys, all or none. */
  generate(count: number): Promise<KeyInfo[]>;
  /** Blocks and returns a uniformly random free key; NOT_FOUND when none is free. */
  acquire(): Promise<KeyInfo>;
  /** Unblocks a key; with `leaseId`, only if it is the current lease (else FAILED_PRECONDITION). */
  release(key: string, leaseId?: string): Promise<KeyInfo>;
  /** Purges a key in any state. */
  delete(key: string): Promise<void>;
  /** Sets a key's life to now + keepalive TTL. */
  keepAlive(key: string): Promise<KeyInfo>;
  /**
   * Keeps several keys alive; unknown or dead keys come back `found: false`. A malformed key
   * rejects the whole batch with INVALID_ARGUMENT before anything changes.
   */
  keepAliveMany(keys: readonly string[]): Promise<KeepAliveResult[]>;
  /** Describes a key without changing it. */
  get(key: string): Promise<KeyInfo>;
  /** Counts live keys and reports the TTLs. */
  stats(): Promise<PoolStats>;
  /** Whether the store can serve now (false while its backend is unreachable). */
  isServing(): boolean;
  /** Calls `listener` whenever `isServing()` changes; returns the unsubscribe function. */
  onServingChange(listener: (serving: boolean) => void): () => void;
  /**
   * Optional: calls `listener` when keys may have become free (release, generation, automatic
   * release), so waiting acquires can retry at once instead of at their next poll.
   */
  onKeysFreed?(listener: () => void): () => void;
  /** Optional: lifetime event counts, for metrics. */
  counters?(): PoolCounters;
  /** Stops background work and releases resources. Idempotent. */
  close(): Promise<void>;
}
