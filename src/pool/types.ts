import type { LeaseEndReason, LeaseRefusal } from "./lease-refusals.js";

/** One key as the pool holds it at a given instant. Times are ms since the Unix epoch. */
export interface KeyInfo {
  readonly key: string;
  /**
   * "cooling": released with a cooldown (e.g. after HTTP 429) and parked until `cooldownUntil`;
   * neither free nor blocked, never acquired, but alive and aging as any key.
   */
  readonly state: KeyState;
  /** Set only while blocked. */
  readonly leaseId?: string | undefined;
  /** Set only while blocked: the instant the key becomes free. */
  readonly blockedUntil?: number | undefined;
  /** The instant the key dies unless kept alive before. */
  readonly expiresAt: number;
  readonly createdAt: number;
  /**
   * The fencing token of the key's latest lease (0 before its first): it grows by one on every
   * acquire of the key and a renewal keeps it, so a later lease always carries a greater token.
   */
  readonly fencingToken?: number | undefined;
  /** Set only while blocked: when the current lease was acquired. */
  readonly acquiredAt?: number | undefined;
  /** Set only while cooling: the instant the key becomes free (inclusive, as every deadline). */
  readonly cooldownUntil?: number | undefined;
}

/** The states of a live key. */
export type KeyState = "free" | "blocked" | "cooling";

/** The outcome of renewing one lease within a batch. */
export interface LeaseResult {
  readonly key: string;
  readonly leaseId: string;
  readonly renewed: boolean;
  /** Set only when renewed: the new block deadline. */
  readonly blockedUntil?: number | undefined;
  /** Set only when renewed: the new life deadline. */
  readonly expiresAt?: number | undefined;
  /** Set only when not renewed. */
  readonly reason?: LeaseEndReason | undefined;
}

/** A renewal's outcome: the key renewed, or why not (nothing changed then). */
export type RenewOutcome =
  | { readonly renewed: true; readonly info: KeyInfo }
  | { readonly renewed: false; readonly refusal: LeaseRefusal };

/** A lease to renew: a key and the lease id AcquireKey returned for it. */
export interface LeaseRef {
  readonly key: string;
  readonly leaseId: string;
}

/** The outcome of keeping one key alive within a batch. */
export interface KeepAliveResult {
  readonly key: string;
  readonly found: boolean;
  /** Set only when found. */
  readonly expiresAt?: number | undefined;
}

/** Counts of live keys and the pool's settings: free + blocked + cooling = total. */
export interface PoolStats extends PoolSettings {
  readonly total: number;
  readonly free: number;
  readonly blocked: number;
  readonly cooling: number;
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
  /** The longest cooldown a release may ask for (`--max-cooldown`, default 1 h). */
  readonly maxCooldownMs: number;
}

/** How to build a `KeyPool`: its settings and how much expiry work one request may do. */
export interface PoolOptions extends Omit<PoolSettings, "maxCooldownMs"> {
  /** The longest cooldown a release may ask for; default DEFAULT_MAX_COOLDOWN_MS (1 h). */
  readonly maxCooldownMs?: number;
  /** No renewal carries a block past a lease's `acquiredAt` + this; default 24 h. */
  readonly maxLeaseMs?: number;
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

/** Which keys a listing returns: every live key, or those of one state. */
export interface ListQuery {
  /** Only keys in this state; absent: every state. */
  readonly state?: KeyState | undefined;
  /** Keys per page, 1..MAX_PAGE_SIZE (the service applies DEFAULT_PAGE_SIZE to 0). */
  readonly pageSize: number;
  /** "" for the first page, else a previous page's `nextPageToken`. */
  readonly pageToken: string;
}

/** One page of a listing: fewer than pageSize keys (even none) may come with a non-empty token. */
export interface ListPage {
  readonly keys: KeyInfo[];
  /** "" when the listing is complete. */
  readonly nextPageToken: string;
}
