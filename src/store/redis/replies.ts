import { KeyPoolError } from "../../pool/index.js";
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

/** Why a script found no key, in the memory pool's words. */
const NOT_HELD: Record<string, string> = {
  unknown: "no such key: it was never generated, was deleted or expired",
  expired: "no such key: it expired because it was not kept alive in time",
};

/** What a failed script status means for one operation; the default covers per-key misses. */
export type FailureMessages = Partial<Record<KeyPoolErrorCode, (reply: ScriptReply) => string>>;

const DEFAULT_MESSAGES: FailureMessages = {
  "not-found": (r) => NOT_HELD[String(r[1])] ?? NOT_HELD.unknown!,
  "failed-precondition": () =>
    "lease_id is not the key's current lease: your lease ran out and the key was acquired again",
  unavailable: (r) =>
    r[1] === "migrating"
      ? "this part of the pool is being moved between Redis Cluster nodes (resharding); retry shortly"
      : "the pool is reclaiming a large batch of expired keys; retry shortly",
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
 * Reads the KeyInfo a script described at `reply[at..at+4]`: key, blockedUntil (0 when free),
 * lease id ('' when free), expiresAt, createdAt. O(1).
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
  };
}
