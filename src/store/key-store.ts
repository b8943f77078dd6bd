import type {
  KeepAliveResult, KeyInfo, LeaseRef, LeaseResult, ListPage, ListQuery, PoolCounters, PoolSettings, PoolStats,
} from "../pool/index.js";

/** What a store tells the start-up log about itself (never a key, a password or a token). */
export interface StoreDescription {
  /** Which store serves: "memory", "durable" or "redis". */
  readonly store: "memory" | "durable" | "redis";
  /** The log line's message, e.g. "recovered the pool from the data dir". */
  readonly summary: string;
  /** Structured details for the same line (the data dir and what recovery found, the Redis pool). */
  readonly details: Readonly<Record<string, unknown>>;
}

/**
 * One pool of keys behind the KeyService, whatever keeps it (memory, Redis, disk). The server
 * uses every member without knowing which store it has: nothing here is optional. Every method
 * follows the KeyService contract (see proto/keypool/v1/keypool.proto) and rejects with a
 * `KeyPoolError` a caller can act on; a fault of the backend (unreachable, failed disk) is
 * UNAVAILABLE, never another code. Every method is O(1) or O(log n) in the pool's size (O(k) for
 * k keys named); expiry work is bounded per call.
 */
export interface KeyStore {
  /**
   * The pool's rules, known once the store is open and fixed for its life. They are the POOL's:
   * every store serving one pool reports the same settings. Reading them is free (no I/O).
   */
  readonly settings: PoolSettings;
  /** Adds `count` (0 means 1, at most 1000) new free keys, all or none. */
  generate(count: number): Promise<KeyInfo[]>;
  /**
   * Adds existing secrets as free keys alive for one keepalive TTL, all or none (pool/key-import.ts):
   * INVALID_ARGUMENT naming the index of a malformed key ("keys[3] ...") or for 0 or more than
   * 1000 keys, ALREADY_EXISTS naming the index of a key already in this pool or repeated in the
   * call, RESOURCE_EXHAUSTED past max-keys.
   */
  import(keys: readonly string[]): Promise<KeyInfo[]>;
  /** Blocks and returns a uniformly random free key; NOT_FOUND when none is free. */
  acquire(): Promise<KeyInfo>;
  /**
   * Unblocks a key; with `leaseId`, only if it is the current lease (else FAILED_PRECONDITION).
   * With `cooldownMs` (> 0) the key becomes COOLING until now + cooldown (a free key too; on a
   * cooling key the later deadline wins; a lease id on a cooling key is FAILED_PRECONDITION, its
   * lease ended); INVALID_ARGUMENT past maxCooldownMs naming --max-cooldown. Life unchanged.
   */
  release(key: string, leaseId?: string, cooldownMs?: number): Promise<KeyInfo>;
  /** Purges a key in any state. */
  delete(key: string): Promise<void>;
  /**
   * Renews the key's current lease: block = now + block TTL, life = now + keepalive TTL, lease id
   * and fencing token unchanged. NOT_FOUND for an unknown, deleted or dead key; FAILED_PRECONDITION
   * (nothing changed) when `leaseId` is not the current lease or the block would pass
   * acquiredAt + max lease; INVALID_ARGUMENT for a malformed key or lease id (both required).
   */
  renew(key: string, leaseId: string): Promise<KeyInfo>;
  /**
   * Renews several leases as `renew` does, one result per lease in order; a refused renewal is
   * `renewed: false` with its reason and changes nothing. A malformed key or lease id rejects the
   * whole batch with INVALID_ARGUMENT before anything changes.
   */
  renewMany(leases: readonly LeaseRef[]): Promise<LeaseResult[]>;
  /** Sets a key's life to now + keepalive TTL. */
  keepAlive(key: string): Promise<KeyInfo>;
  /**
   * Keeps several keys alive; unknown or dead keys come back `found: false`. A malformed key
   * rejects the whole batch with INVALID_ARGUMENT before anything changes.
   */
  keepAliveMany(keys: readonly string[]): Promise<KeepAliveResult[]>;
  /** Describes a key without changing it. */
  get(key: string): Promise<KeyInfo>;
  /**
   * One page of the pool (optionally one state) in a stable order: O(pageSize) work (+ O(log n) on
   * Redis), at most 4 * pageSize entries examined, so a page may hold fewer keys (even none) with
   * a token to go on. A full scan returns every key present for the whole scan exactly once.
   * Tokens are opaque; another store's, run's or pool's is INVALID_ARGUMENT.
   */
  list(query: ListQuery): Promise<ListPage>;
  /** Counts live keys (`total` = keys not dead at this instant) and reports the settings. */
  stats(): Promise<PoolStats>;
  /**
   * Event counts since THIS store opened, in this process: keys generated, acquired, released
   * and deleted through it, acquires it answered NOT_FOUND, and the automatic releases and
   * expiries it settled. They start at 0 on every open (also after a restart with a data dir,
   * like any Prometheus counter) and only grow; for a pool several servers share, the pool's
   * figure is the sum over its servers. The same definition on every store. O(1), no I/O.
   */
  counters(): PoolCounters;
  /**
   * Calls `listener` when keys may have become free (release, generation, automatic release;
   * on a shared pool also through other servers), so waiting acquires can retry at once instead
   * of at their next poll. Best effort: waiters poll as well. Returns the unsubscribe function.
   */
  onKeysFreed(listener: () => void): () => void;
  /** Whether the store can serve now (false while its backend is unreachable or failed). */
  isServing(): boolean;
  /** Calls `listener` whenever `isServing()` changes; returns the unsubscribe function. */
  onServingChange(listener: (serving: boolean) => void): () => void;
  /** What the start-up log says about this store. O(1), no I/O. */
  describe(): StoreDescription;
  /** Stops background work and releases resources. Idempotent. */
  close(): Promise<void>;
}
