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
 * dead); `stream-down` when no keepalive was confirmed for a whole keepalive TTL, so the key may
 * have died.
 */
export type LostReason = "not-found" | "stream-down";

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
