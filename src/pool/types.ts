import type { LeaseEndReason, LeaseRefusal } from "./lease-refusals.js";

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
  /**
   * The fencing token of the key's latest lease (0 before its first): it grows by one on every
   * acquire of the key and a renewal keeps it, so a later lease always carries a greater token.
   */
  readonly fencingToken?: number | undefined;
  /** Set only while blocked: when the current lease was acquired. */
  readonly acquiredAt?: number | undefined;
}

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
