import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import {
  GetPoolStatsResponseSchema,
  KeyState,
} from "../../gen/keypool/v1/keypool_pb.js";
import type { GetPoolStatsResponse, KeepAliveResult, KeyInfo as KeyInfoMessage, LeaseResult } from "../../gen/keypool/v1/keypool_pb.js";
import type { KeepAliveResult as DomainKeepAliveResult, KeyInfo, LeaseResult as DomainLeaseResult, PoolStats } from "../pool/index.js";

/** The two Timestamps made last, by their ms: a batch's answers share one or two deadlines. */
let lastMs = NaN;
let lastTimestamp: Timestamp | undefined;
let otherMs = NaN;
let otherTimestamp: Timestamp | undefined;

/**
 * A Timestamp message for epoch milliseconds, built directly (no reflective `create`). The two
 * most recent are reused (frozen, so sharing them between messages is safe): every renewal of a
 * KeepAlive message ends its block and its life at the same two instants. O(1).
 */
function timestamp(ms: number): Timestamp {
  if (ms === lastMs) return lastTimestamp!;
  if (ms !== otherMs) {
    const seconds = Math.floor(ms / 1000);
    otherMs = ms;
    otherTimestamp = Object.freeze({
      $typeName: "google.protobuf.Timestamp",
      seconds: BigInt(seconds),
      nanos: (ms - seconds * 1000) * 1_000_000,
    });
  }
  // The hit (or the new one) becomes the last; the last becomes the other.
  const hit = otherTimestamp!;
  otherMs = lastMs;
  otherTimestamp = lastTimestamp;
  lastMs = ms;
  lastTimestamp = hit;
  return hit;
}

/**
 * A key of pool `pool` (its full name) as its wire message. O(1). Built as a literal rather than
 * with `create()`: this runs on every RPC, and the reflective copy showed in the server's profile.
 */
export function keyInfoMessage(info: KeyInfo, pool: string): KeyInfoMessage {
  const blocked = info.state === "blocked";
  const cooling = info.state === "cooling";
  return {
    $typeName: "keypool.v1.KeyInfo",
    key: info.key,
    state: blocked ? KeyState.BLOCKED : cooling ? KeyState.COOLING : KeyState.FREE,
    leaseId: info.leaseId ?? "",
    blockedUntil: blocked && info.blockedUntil !== undefined ? timestamp(info.blockedUntil) : undefined,
    expiresAt: timestamp(info.expiresAt),
    createdAt: timestamp(info.createdAt),
    fencingToken: BigInt(info.fencingToken ?? 0),
    acquiredAt: blocked && info.acquiredAt !== undefined ? timestamp(info.acquiredAt) : undefined,
    pool,
    cooldownUntil: cooling && info.cooldownUntil !== undefined ? timestamp(info.cooldownUntil) : undefined,
  };
}

/** One keepalive outcome as its wire message, built as a literal like the others. O(1). */
export function keepAliveResultMessage(result: DomainKeepAliveResult): KeepAliveResult {
  return {
    $typeName: "keypool.v1.KeepAliveResult",
    key: result.key,
    found: result.found,
    expiresAt: result.expiresAt === undefined ? undefined : timestamp(result.expiresAt),
  };
}

/** One renewal outcome as its wire message. O(1). */
export function leaseResultMessage(result: DomainLeaseResult): LeaseResult {
  return {
    $typeName: "keypool.v1.LeaseResult",
    key: result.key,
    leaseId: result.leaseId,
    renewed: result.renewed,
    blockedUntil: result.blockedUntil === undefined ? undefined : timestamp(result.blockedUntil),
    expiresAt: result.expiresAt === undefined ? undefined : timestamp(result.expiresAt),
    reason: result.reason ?? "",
  };
}

/** Pool counts as their wire message. O(1). */
export function statsMessage(stats: PoolStats): GetPoolStatsResponse {
  return create(GetPoolStatsResponseSchema, {
    total: BigInt(stats.total),
    free: BigInt(stats.free),
    blocked: BigInt(stats.blocked),
    blockTtl: durationFromMs(stats.blockTtlMs),
    keepaliveTtl: durationFromMs(stats.keepaliveTtlMs),
    maxKeys: BigInt(stats.maxKeys),
    cooling: BigInt(stats.cooling),
    maxCooldown: durationFromMs(stats.maxCooldownMs),
  });
}
