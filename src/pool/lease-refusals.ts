import { KeyPoolError } from "./errors.js";
import { messages } from "./rules.js";

/** The 24 hours a lease may last by default (`--max-lease`). */
export const DEFAULT_MAX_LEASE_MS = 24 * 60 * 60 * 1000;

/**
 * Why a renewal was refused, as a KeepAlive stream's `LeaseResult.reason` says it:
 * `not-found` (unknown, deleted or dead key), `lease-ended` (not the key's current lease),
 * `max-lease` (the block would pass `acquiredAt` + max lease).
 */
export type LeaseEndReason = "not-found" | "lease-ended" | "max-lease";

/** Why the pool holds no such key, by cause: THE not-found messages of every store (see rules.ts). */
export const NOT_HELD = {
  unknown: messages.unknownKey(),
  expired: messages.expiredKey(),
} as const;

/** A refused renewal: the reason and a message naming what happened and the fix. */
export interface LeaseRefusal {
  readonly reason: LeaseEndReason;
  readonly message: string;
}

/**
 * THE refusals of a renewal, for every store (the pool, the Redis scripts' replies): one wording
 * each. O(1).
 */
export const REFUSALS = {
  /** The key is free: its lease was released or its block ran out (also at exactly its deadline). */
  ended: {
    reason: "lease-ended",
    message: "the lease ended: the key is free (the lease was released or its block ran out at blocked_until); stop using the key and acquire one again",
  },
  /** The key is cooling: its lease was released with a cooldown. */
  cooling: {
    reason: "lease-ended",
    message: "the lease ended: the key was released with a cooldown and is cooling until cooldown_until; stop using the key and acquire one again",
  },
  /** The key is blocked under a newer lease. */
  taken: {
    reason: "lease-ended",
    message: "lease_id is not the key's current lease: the key is blocked under another lease (yours ran out and the key was acquired again); stop using it",
  },
  /** The pool does not hold the key: never generated, deleted, or dead before anyone noticed. */
  notFound: { reason: "not-found", message: NOT_HELD.unknown },
  /** The pool held the key until it died just now. */
  expired: { reason: "not-found", message: NOT_HELD.expired },
} as const satisfies Record<string, LeaseRefusal>;

/** The refusal of a renewal past the longest lease, `maxLeaseMs` after `acquiredAt`. O(1). */
export function maxLeaseRefusal(maxLeaseMs: number): LeaseRefusal {
  return {
    reason: "max-lease",
    message:
      `the lease would last longer than --max-lease (${maxLeaseMs} ms after acquired_at): not renewed, its block ` +
      "ends at blocked_until; release the key and acquire one again",
  };
}

/** The error RenewLease answers for `refusal`: NOT_FOUND or FAILED_PRECONDITION. O(1). */
export function refusalError(refusal: LeaseRefusal): KeyPoolError {
  return new KeyPoolError(refusal.reason === "not-found" ? "not-found" : "failed-precondition", refusal.message);
}
