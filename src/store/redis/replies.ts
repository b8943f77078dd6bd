import { KeyPoolError, NOT_HELD, REFUSALS, maxLeaseRefusal, messages as rules } from "../../pool/index.js";
import type { LeaseRefusal } from "../../pool/index.js";
import type { KeyPoolErrorCode } from "../../pool/index.js";
import type { KeepAliveResult, KeyInfo, LeaseRef, LeaseResult } from "../../pool/index.js";
import type { ScriptReply } from "./commands.js";

const CODES: ReadonlySet<string> = new Set<KeyPoolErrorCode>([
  "invalid-argument",
  "already-exists",
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

/** Reply fields of one key as the scripts' `describe` gives them (see toKeyInfo). */
export const KEY_FIELDS = 8;

/**
 * Reads the KeyInfo a script described at `reply[at..at+7]`: key, blockedUntil (0 when not
 * blocked), lease id ('' when not blocked), expiresAt, createdAt, fencing token, acquiredAt (0
 * when not blocked), cooldownUntil (0 when not cooling). O(1).
 */
export function toKeyInfo(reply: ScriptReply, at = 1): KeyInfo {
  const blockedUntil = Number(reply[at + 1]);
  const cooldownUntil = Number(reply[at + 7]);
  const blocked = blockedUntil > 0;
  const cooling = !blocked && cooldownUntil > 0;
  return {
    key: String(reply[at]),
    state: blocked ? "blocked" : cooling ? "cooling" : "free",
    leaseId: blocked ? String(reply[at + 2]) : undefined,
    blockedUntil: blocked ? blockedUntil : undefined,
    expiresAt: Number(reply[at + 3]),
    createdAt: Number(reply[at + 4]),
    fencingToken: Number(reply[at + 5]),
    acquiredAt: blocked ? Number(reply[at + 6]) : undefined,
    cooldownUntil: cooling ? cooldownUntil : undefined,
  };
}

/** The refusal a renewal script's outcome stands for ('unknown', 'expired', 'ended', 'cooling', 'taken', 'max-lease'). O(1). */
export function renewRefusal(outcome: string, maxLeaseMs: number): LeaseRefusal {
  switch (outcome) {
    case "unknown":
      return REFUSALS.notFound;
    case "expired":
      return REFUSALS.expired;
    case "ended":
      return REFUSALS.ended;
    case "cooling":
      return REFUSALS.cooling;
    case "taken":
      return REFUSALS.taken;
    case "max-lease":
      return maxLeaseRefusal(maxLeaseMs);
    default:
      throw new Error(`keypool redis renewal replied an unknown outcome "${outcome}"`);
  }
}

/** The results of a batch renewal script: per lease its outcome, blockedUntil and expiresAt. O(k). */
export function toLeaseResults(chunk: readonly LeaseRef[], reply: ScriptReply, maxLeaseMs: number): LeaseResult[] {
  return chunk.map(({ key, leaseId }, i) => {
    const outcome = String(reply[1 + 3 * i]);
    return outcome === "ok"
      ? { key, leaseId, renewed: true, blockedUntil: Number(reply[2 + 3 * i]), expiresAt: Number(reply[3 + 3 * i]) }
      : { key, leaseId, renewed: false, reason: renewRefusal(outcome, maxLeaseMs).reason };
  });
}

/** The results of a batch keepalive script: per key its new life, or 0 when not held. O(k). */
export function toKeepAliveResults(chunk: readonly string[], reply: ScriptReply): KeepAliveResult[] {
  return chunk.map((key, i) => {
    const expiresAt = Number(reply[i + 1]);
    return expiresAt > 0 ? { key, found: true, expiresAt } : { key, found: false };
  });
}

/** One shard's part of a listing: its keys, the cursor after them, whether more may follow, and the entries examined. */
export interface ShardPage {
  readonly keys: KeyInfo[];
  readonly after: number;
  readonly more: boolean;
  readonly examined: number;
}

/** The listing script's reply (see listing-script.ts) as a ShardPage. O(page). */
export function toShardPage(reply: ScriptReply): ShardPage {
  const keys: KeyInfo[] = [];
  for (let at = 4; at < reply.length; at += KEY_FIELDS) keys.push(toKeyInfo(reply, at));
  return { keys, after: Number(reply[1]), more: Number(reply[2]) === 1, examined: Number(reply[3]) };
}

/**
 * The KeyInfos of the keys a generate or import script added, all free; or the error it replied
 * (RESOURCE_EXHAUSTED counting `elsewhere`, the pool's other shards; ALREADY_EXISTS in the words
 * of `exists`). O(k).
 */
export function toAddedKeys(keys: readonly string[], reply: ScriptReply, elsewhere: number, exists?: (r: ScriptReply) => string): KeyInfo[] {
  const [, createdAt, expiresAt] = expectOk(reply, {
    "resource-exhausted": (r) => rules.poolFull(Number(r[1]) + elsewhere, Number(r[2]), keys.length),
    ...(exists ? { "already-exists": exists } : {}),
  }).map(Number);
  return keys.map((key) => ({ key, state: "free", createdAt: createdAt!, expiresAt: expiresAt!, fencingToken: 0 }));
}
