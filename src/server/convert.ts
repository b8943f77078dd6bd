import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  GetPoolStatsResponseSchema,
  KeepAliveResultSchema,
  KeyInfoSchema,
  KeyState,
} from "../../gen/keypool/v1/keypool_pb.js";
import type { GetPoolStatsResponse, KeepAliveResult, KeyInfo as KeyInfoMessage } from "../../gen/keypool/v1/keypool_pb.js";
import type { KeepAliveResult as DomainKeepAliveResult, KeyInfo, PoolStats } from "../pool/index.js";

/** A pool key as its wire message. O(1). */
export function keyInfoMessage(info: KeyInfo): KeyInfoMessage {
  const blocked = info.state === "blocked";
  return create(KeyInfoSchema, {
    key: info.key,
    state: blocked ? KeyState.BLOCKED : KeyState.FREE,
    leaseId: info.leaseId ?? "",
    blockedUntil: blocked && info.blockedUntil !== undefined ? timestampFromMs(info.blockedUntil) : undefined,
    expiresAt: timestampFromMs(info.expiresAt),
    createdAt: timestampFromMs(info.createdAt),
  });
}

/** One keepalive outcome as its wire message. O(1). */
export function keepAliveResultMessage(result: DomainKeepAliveResult): KeepAliveResult {
  return create(KeepAliveResultSchema, {
    key: result.key,
    found: result.found,
    expiresAt: result.expiresAt === undefined ? undefined : timestampFromMs(result.expiresAt),
  });
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
  });
}
