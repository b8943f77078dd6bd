import { KeyPoolError, NOT_HELD, REFUSALS, maxLeaseRefusal, messages as rules } from "../../pool/index.js";
import type { LeaseRefusal } from "../../pool/index.js";
import type { KeyPoolErrorCode } from "../../pool/index.js";
import type { KeyInfo } from "../../pool/index.js";
import type { ScriptReply } from "./commands.js";

const CODES: ReadonlySet<string> = new Set<KeyPoolErrorCode>([
  "invalid-argument",
  "not-found",
  "failed-precondition",
  "resource-exhausted",
  "unavailable",
]);


/** What a failed script status means for one operation; the default covers per-key misses. */
export type FailureMessages = Partial<Record<KeyPoolErrorCode, (reply: ScriptReply) => string>>;

const DEFAULT_MESSAGES: FailureMessages = {
  "not-found": (r) => (r[1] === "expired" ? NOT_HELD.expired : NOT_HELD.unknown),
  "failed-precondition": rules.notCurrentLease,
  unavailable: (r) =>
    r[1] === "migrating"
      ? "this part of the pool is being moved between Redis Cluster nodes (resharding); retry shortly"
      : rules.reclaiming(),
};

/**
 * Returns `reply` when its status is "ok"; throws the KeyPoolError it names otherwise, with the
 * message from `messages` (or the defaults). A status that is no known code is a bug: plain Error.
 * O(1).
 */
export function expectOk(reply: ScriptReply, messages: FailureMessages = {}): ScriptReply {
  const status = String(reply[0]);
  if (status === "ok") return reply;
  if (!CODES.has(status)) throw new Error(`keypool redis script replied an unknown status "${status}"`);
  const code = status as KeyPoolErrorCode;
  const message = (messages[code] ?? DEFAULT_MESSAGES[code])?.(reply) ?? code;
  throw new KeyPoolError(code, message);
}

/**
 * Reads the KeyInfo a script described at `reply[at..at+6]`: key, blockedUntil (0 when free),
 * lease id ('' when free), expiresAt, createdAt, fencing token, acquiredAt (0 when free). O(1).
 */
export function toKeyInfo(reply: ScriptReply, at = 1): KeyInfo {
  const blockedUntil = Number(reply[at + 1]);
  const blocked = blockedUntil > 0;
  return {
    key: String(reply[at]),
    state: blocked ? "blocked" : "free",
    leaseId: blocked ? String(reply[at + 2]) : undefined,
    blockedUntil: blocked ? blockedUntil : undefined,
    expiresAt: Number(reply[at + 3]),
    createdAt: Number(reply[at + 4]),
    fencingToken: Number(reply[at + 5]),
    acquiredAt: blocked ? Number(reply[at + 6]) : undefined,
  };
}

/** The refusal a renewal script's outcome stands for ('unknown', 'expired', 'ended', 'taken', 'max-lease'). O(1). */
export function renewRefusal(outcome: string, maxLeaseMs: number): LeaseRefusal {
  switch (outcome) {
    case "unknown":
      return REFUSALS.notFound;
    case "expired":
      return REFUSALS.expired;
    case "ended":
      return REFUSALS.ended;
    case "taken":
      return REFUSALS.taken;
    case "max-lease":
      return maxLeaseRefusal(maxLeaseMs);
    default:
      throw new Error(`keypool redis renewal replied an unknown outcome "${outcome}"`);
  }
}
