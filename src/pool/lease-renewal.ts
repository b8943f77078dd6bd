import { assertKey, assertLeaseId, isKey, isLeaseId } from "./key-format.js";
import type { KeyStates } from "./key-states.js";
import { DEAD } from "./key-states.js";
import { REFUSALS } from "./lease-refusals.js";
import type { LeaseRefusal } from "./lease-refusals.js";
import type { KeyInfo, LeaseRef, LeaseResult } from "./types.js";

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
  states.extendBlock(slot, until);
  states.extendLife(slot, now + rules.keepaliveTtlMs);
  return slot;
}

/**
 * Renews each lease as `renewLease` does, in order, at a ticked `now`, after checking every
 * entry's shape (a malformed one throws INVALID_ARGUMENT naming `leases[i]` before anything
 * changes); `onRenewed` hears each renewed key (given only when it is needed: the key's
 * description, lease id text included, is built for it alone). O(k) for k leases.
 */
export function renewLeases(
  states: KeyStates, leases: readonly LeaseRef[], now: number, rules: LeaseRules, onRenewed?: (info: KeyInfo) => void,
): LeaseResult[] {
  for (let i = 0; i < leases.length; i++) {
    const { key, leaseId } = leases[i]!;
    // The field names are built only for the message of a malformed entry.
    if (!isKey(key)) assertKey(key, `leases[${i}].key`);
    if (!isLeaseId(leaseId)) assertLeaseId(leaseId, `leases[${i}].lease_id`);
  }
  const blockedUntil = now + rules.blockTtlMs;
  const expiresAt = now + rules.keepaliveTtlMs;
  const results: LeaseResult[] = new Array(leases.length);
  for (let i = 0; i < leases.length; i++) {
    const { key, leaseId } = leases[i]!;
    const renewed = renewLease(states, key, leaseId, now, rules);
    if (typeof renewed !== "number") {
      results[i] = { key, leaseId, renewed: false, blockedUntil: undefined, expiresAt: undefined, reason: renewed.reason };
      continue;
    }
    onRenewed?.(states.slots.info(renewed, now));
    results[i] = { key, leaseId, renewed: true, blockedUntil, expiresAt, reason: undefined };
  }
  return results;
}
