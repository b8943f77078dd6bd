/**
 * Whether a key can be acquired: `free` yes; `blocked` under a lease; `cooling` released with a
 * cooldown (after a rate limit) and free again at `cooldownUntil`.
 */
export type KeyState = "free" | "blocked" | "cooling";

/**
 * A key as the pool held it when the server answered. Timestamps are milliseconds since the
 * Unix epoch on the server's clock (compare them with `Date.now()` only if the clocks agree).
 */
export interface PoolKey {
  /** The key itself (`kp_` + 24 characters, or the imported secret). A secret: log it with `redactKey`. */
  readonly key: string;
  /**
   * The pool the key lives in, by its full name (the server's default pool is named too). Calls
   * handed this PoolKey (or a hold of it) go to this pool without being told.
   */
  readonly pool: string;
  readonly state: KeyState;
  /** The current lease id when blocked; undefined when free. */
  readonly leaseId: string | undefined;
  /** When the block ends (the key is free again at this instant); undefined when free. */
  readonly blockedUntil: number | undefined;
  /** When the key dies unless kept alive before. */
  readonly expiresAt: number;
  readonly createdAt: number;
  /**
   * The fencing token of the key's latest lease (its current one when blocked): every acquire of
   * the key gets a greater one, a renewal keeps it. Send it with every use of the key, so the
   * service the key is for can refuse a holder whose lease already ended (see the client guide).
   */
  readonly fencingToken: number;
  /** When the current lease began (its AcquireKey); undefined unless blocked. */
  readonly acquiredAt: number | undefined;
  /** When a cooling key is free again (inclusive); undefined unless cooling. */
  readonly cooldownUntil: number | undefined;
}

/**
 * A key as a call names it: its string, in the pool the call's `pool` option names (the
 * server's default pool without one), or a PoolKey, which carries its own pool.
 */
export type KeyRef = string | PoolKey;

/** A PoolKey under a lease, as `acquireKey` and `renewLease` return it: what `hold()` renews. */
export interface LeasedKey extends PoolKey {
  readonly state: "blocked";
  readonly leaseId: string;
  readonly blockedUntil: number;
  readonly acquiredAt: number;
}

/** Options of a call in one pool. */
export interface PoolCallOptions extends CallOptions {
  /**
   * The pool (1 to 64 characters of `[a-z0-9_.-]`); unset or "" is the server's default pool.
   * A key passed as a PoolKey carries its pool: naming another one here is INVALID_ARGUMENT.
   */
  readonly pool?: string;
}

/** Options of a release. */
export interface ReleaseOptions extends PoolCallOptions {
  /**
   * Park the key COOLING for this long instead of freeing it (e.g. a 429's Retry-After): nobody
   * acquires it until then, and at the end it is free again with no call needed. At most the
   * server's `--max-cooldown` (default 1 h); unset or 0 frees the key at once.
   */
  readonly cooldownMs?: number;
}

/** Options of `LeaseHold.release()`: the hold knows its pool. */
export type HoldReleaseOptions = Omit<ReleaseOptions, "pool">;

/** The options of a release without a lease id: it frees the key whoever holds it now. */
export interface UnfencedRelease extends ReleaseOptions {
  /** Required: says out loud that this release may free a key someone else acquired since. */
  readonly unfenced: true;
}

/** The pool's live counts and TTLs. */
export interface PoolStats {
  readonly total: number;
  readonly free: number;
  readonly blocked: number;
  /** Released with a cooldown that has not ended: neither free nor blocked. */
  readonly cooling: number;
  readonly maxKeys: number;
  readonly blockTtlMs: number;
  readonly keepaliveTtlMs: number;
  /** The longest cooldown a release may ask for (`--max-cooldown`). */
  readonly maxCooldownMs: number;
}

/** The outcome of keeping one key alive. */
export interface KeepAliveOutcome {
  readonly key: string;
  /** False when the pool does not hold the key (unknown, deleted or dead): stop using it. */
  readonly found: boolean;
  /** The key's new life deadline (epoch ms, server clock); undefined when not found. */
  readonly expiresAt: number | undefined;
}

/**
 * Why `hold()` gave a key up: `not-found` when the server said the key is gone (deleted or
 * dead); `lease-ended` when the server refused a renewal because the lease is no longer the
 * key's current one; `max-lease` when a renewal would pass the server's `--max-lease`;
 * `permission-denied` when the server refused to keep it for this token (its pool is not one of
 * the token's `"pools"` in the auth file; `hold.signal.reason` carries the server's words): the
 * other holds go on; `stream-down` when no keepalive or renewal was confirmed in time, so the
 * lease (or the key) may have ended.
 */
export type LostReason = "not-found" | "lease-ended" | "max-lease" | "permission-denied" | "stream-down";

/** Options of one call. */
export interface CallOptions {
  /** The call's deadline from now, retries included; default: the client's `defaultTimeoutMs`. */
  readonly timeoutMs?: number;
  /** Cancels the call (CANCELLED) when aborted. */
  readonly signal?: AbortSignal;
}

/** Options of `listKeys`. */
export interface ListOptions extends PoolCallOptions {
  /** Only keys in this state; unset lists every state. */
  readonly state?: KeyState;
  /** Most keys per page (1 to 1000); default the server's, 100. */
  readonly pageSize?: number;
}

/** Options of `acquireKey`. */
export interface AcquireOptions extends PoolCallOptions {
  /**
   * How long the server may wait for a key when none is free (at most 5 minutes); unset answers
   * NOT_FOUND at once. The call's deadline then defaults to `waitMs + defaultTimeoutMs`, so the
   * deadline never cuts the wait short.
   */
  readonly waitMs?: number;
}
