import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { KeyState } from "../../gen/keypool/v1/keypool_pb.js";
import type { GetPoolStatsResponse, KeepAliveResult, KeyInfo } from "../../gen/keypool/v1/keypool_pb.js";
import { KeyPoolClientError } from "./errors.js";
import type { KeepAliveOutcome, KeyState as ClientKeyState, LeasedKey, PoolKey, PoolStats } from "./types.js";

/** The wire state of each client state (for ListKeys filters). */
export const WIRE_STATE: Readonly<Record<ClientKeyState, KeyState>> = {
  free: KeyState.FREE,
  blocked: KeyState.BLOCKED,
  cooling: KeyState.COOLING,
};

/** A wire state as a client state; one this client does not know is a server bug (INTERNAL). O(1). */
function clientState(state: KeyState, method: string): ClientKeyState {
  if (state === KeyState.BLOCKED) return "blocked";
  if (state === KeyState.COOLING) return "cooling";
  if (state === KeyState.FREE) return "free";
  throw new KeyPoolClientError("INTERNAL", method, `the response carries an unknown key state (${state})`);
}

/** A wire KeyInfo as a PoolKey; a response without its key is a server bug (INTERNAL). O(1). */
export function poolKey(info: KeyInfo | undefined, method: string): PoolKey {
  if (!info) throw new KeyPoolClientError("INTERNAL", method, "the response carries no key");
  const state = clientState(info.state, method);
  const blocked = state === "blocked";
  return {
    key: info.key,
    pool: info.pool,
    state,
    leaseId: blocked && info.leaseId ? info.leaseId : undefined,
    blockedUntil: blocked && info.blockedUntil ? timestampMs(info.blockedUntil) : undefined,
    expiresAt: info.expiresAt ? timestampMs(info.expiresAt) : 0,
    createdAt: info.createdAt ? timestampMs(info.createdAt) : 0,
    fencingToken: Number(info.fencingToken),
    acquiredAt: blocked && info.acquiredAt ? timestampMs(info.acquiredAt) : undefined,
    cooldownUntil: state === "cooling" && info.cooldownUntil ? timestampMs(info.cooldownUntil) : undefined,
  };
}

/** A PoolKey that carries a lease (as AcquireKey and RenewLease answer), or INTERNAL. O(1). */
export function leasedKey(key: PoolKey, method: string): LeasedKey {
  if (key.state !== "blocked" || !key.leaseId || key.blockedUntil === undefined || key.acquiredAt === undefined) {
    throw new KeyPoolClientError("INTERNAL", method, "the response carries no lease");
  }
  return key as LeasedKey;
}

/** One wire keepalive result as a KeepAliveOutcome. O(1). */
export function keepAliveOutcome(result: KeepAliveResult): KeepAliveOutcome {
  return {
    key: result.key,
    found: result.found,
    expiresAt: result.found && result.expiresAt ? timestampMs(result.expiresAt) : undefined,
  };
}

/** Wire stats as PoolStats (counts fit a number: capacity is at most 10^8). O(1). */
export function poolStats(stats: GetPoolStatsResponse): PoolStats {
  return {
    total: Number(stats.total),
    free: Number(stats.free),
    blocked: Number(stats.blocked),
    cooling: Number(stats.cooling),
    maxKeys: Number(stats.maxKeys),
    blockTtlMs: stats.blockTtl ? durationMs(stats.blockTtl) : 0,
    keepaliveTtlMs: stats.keepaliveTtl ? durationMs(stats.keepaliveTtl) : 0,
    maxCooldownMs: stats.maxCooldown ? durationMs(stats.maxCooldown) : 0,
  };
}
