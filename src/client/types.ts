/** Whether a key can be acquired. */
export type KeyState = "free" | "blocked";

/**
 * A key as the pool held it when the server answered. Timestamps are milliseconds since the
 * Unix epoch on the server's clock (compare them with `Date.now()` only if the clocks agree).
 */
export interface PoolKey {
  /** The key itself (`kp_` + 24 characters). A secret: log it with `redactKey`. */
  readonly key: string;
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
  /** When the current lease began (its AcquireKey); undefined when free. */
  readonly acquiredAt: number | undefined;
}

/** A PoolKey under a lease, as `acquireKey` and `renewLease` return it: what `hold()` renews. */
export interface LeasedKey extends PoolKey {
  readonly state: "blocked";
  readonly leaseId: string;
  readonly blockedUntil: number;
  readonly acquiredAt: number;
}

/** The options of a release without a lease id: it frees the key whoever holds it now. */
export interface UnfencedRelease extends CallOptions {
  /** Required: says out loud that this release may free a key someone else acquired since. */
  readonly unfenced: true;
}

/** The pool's live counts and TTLs. */
export interface PoolStats {
  readonly total: number;
  readonly free: number;
  readonly blocked: number;
  readonly maxKeys: number;
  readonly blockTtlMs: number;
  readonly keepaliveTtlMs: number;
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
 * `stream-down` when no keepalive or renewal was confirmed in time, so the lease (or the key)
 * may have ended.
 */
export type LostReason = "not-found" | "lease-ended" | "max-lease" | "stream-down";

/** Options of one call. */
export interface CallOptions {
  /** The call's deadline from now, retries included; default: the client's `defaultTimeoutMs`. */
  readonly timeoutMs?: number;
  /** Cancels the call (CANCELLED) when aborted. */
  readonly signal?: AbortSignal;
}

/** Options of `acquireKey`. */
export interface AcquireOptions extends CallOptions {
  /**
   * How long the server may wait for a key when none is free (at most 5 minutes); unset answers
   * NOT_FOUND at once. The call's deadline then defaults to `waitMs + defaultTimeoutMs`, so the
   * deadline never cuts the wait short.
   */
  readonly waitMs?: number;
}
