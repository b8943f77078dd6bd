/** One key as the pool holds it at a given instant. Times are ms since the Unix epoch. */
export interface KeyInfo {
  readonly key: string;
  readonly state: "free" | "blocked";
  /** Set only while blocked. */
  readonly leaseId?: string | undefined;
  /** Set only while blocked: the instant the key becomes free. */
  readonly blockedUntil?: number | undefined;
  /** The instant the key dies unless kept alive before. */
  readonly expiresAt: number;
  readonly createdAt: number;
  /** Set only while blocked: the current lease's fencing token (see KeyPool.acquire). */
  readonly fencingToken?: number | undefined;
  /** Set only while blocked: when the current lease was acquired. */
  readonly acquiredAt?: number | undefined;
}

/** The outcome of keeping one key alive within a batch. */
export interface KeepAliveResult {
  readonly key: string;
  readonly found: boolean;
  /** Set only when found. */
  readonly expiresAt?: number | undefined;
}

/** Counts of live keys and the pool's settings. */
export interface PoolStats extends PoolSettings {
  readonly total: number;
  readonly free: number;
  readonly blocked: number;
}

/**
 * A pool's rules: fixed for the pool's life and the same for every server that serves it (a
 * shared Redis pool keeps one set for all its servers). What GetPoolStats reports.
 */
export interface PoolSettings {
  /** How long an acquired key stays blocked unless released (default 60 s). */
  readonly blockTtlMs: number;
  /** How long a key lives without a keepalive (default 5 min). */
  readonly keepaliveTtlMs: number;
  /** The most live keys the pool holds. */
  readonly maxKeys: number;
}

/** How to build a `KeyPool`: its settings and how much expiry work one request may do. */
export interface PoolOptions extends PoolSettings {
  /** Expiry work one request may do before answering; default 64. */
  readonly catchUpBudget?: number;
}

/** Lifetime event counts since the pool was made. */
export interface PoolCounters {
  generated: number;
  acquired: number;
  released: number;
  autoReleased: number;
  expired: number;
  deleted: number;
  acquireMisses: number;
}
