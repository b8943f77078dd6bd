import type { KeyStates } from "./key-states.js";
import { DEAD } from "./key-states.js";
import { REFUSALS } from "./lease-refusals.js";
import type { LeaseRefusal } from "./lease-refusals.js";

/** What a renewal is judged by: the pool's TTLs and its longest lease. */
export interface LeaseRules {
  readonly blockTtlMs: number;
  readonly keepaliveTtlMs: number;
  readonly maxLeaseMs: number;
  /** The refusal past maxLeaseMs (built once). */
  readonly maxLease: LeaseRefusal;
}

/**
 * Renews the lease `leaseId` (well-formed) of `key` (well-formed) at a ticked `now`: block = now
 * + block TTL, life = now + keepalive TTL. Returns the renewed key's slot, or the refusal with
 * nothing changed: not held (`not-found`), free, cooling or blocked under another lease
 * (`lease-ended`), past acquiredAt + max lease (`max-lease`). O(1).
 */
export function renewLease(states: KeyStates, key: string, leaseId: string, now: number, rules: LeaseRules): number | LeaseRefusal {
  const slot = states.live(key, now);
  if (slot < 0) return slot === DEAD ? REFUSALS.expired : REFUSALS.notFound;
  const { slots } = states;
  if (slots.blockedUntil.get(slot) === 0) return slots.cooldownUntil.get(slot) === 0 ? REFUSALS.ended : REFUSALS.cooling;
  if (!slots.hasLease(slot, leaseId)) return REFUSALS.taken;
  const until = now + rules.blockTtlMs;
  if (until > slots.acquiredAt.get(slot) + rules.maxLeaseMs) return rules.maxLease;
  slots.blockedUntil.set(slot, until);
  states.blocks.moveToTail(slot);
  slots.expiresAt.set(slot, now + rules.keepaliveTtlMs);
  states.lives.moveToTail(slot);
  return slot;
}
