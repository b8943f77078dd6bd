import { durationMs } from "@bufbuild/protobuf/wkt";
import type { Duration } from "@bufbuild/protobuf/wkt";
import { KeyState } from "../../gen/keypool/v1/keypool_pb.js";
import { KeyPoolError, assertCooldown, pageSizeOf } from "../pool/index.js";
import type { ListQuery, PoolSettings } from "../pool/index.js";

/**
 * Turning request fields the store does not take as they are into domain arguments: Durations
 * into ms, ListKeys' state and page size. Each throws INVALID_ARGUMENT naming the field. O(1).
 */

/**
 * A Duration field in whole ms (rounded up, so a wait or cooldown is never shorter than asked);
 * nanos outside 0-999,999,999 are refused, naming `field`.
 */
export function durationArgMs(field: string, value: Duration): number {
  if (!Number.isInteger(value.nanos) || value.nanos < 0 || value.nanos > 999_999_999) {
    throw new KeyPoolError("invalid-argument", `${field}.nanos must be from 0 to 999999999 (got ${value.nanos}); put whole seconds in ${field}.seconds`);
  }
  return Math.ceil(durationMs(value));
}

/**
 * A ReleaseKey's cooldown in ms, checked against the pool's `--max-cooldown`; undefined for
 * none (unset or zero).
 */
export function cooldownArgMs(cooldown: Duration | undefined, settings: PoolSettings): number | undefined {
  if (!cooldown) return undefined;
  const ms = durationArgMs("cooldown", cooldown);
  assertCooldown(ms, settings.maxCooldownMs);
  return ms > 0 ? ms : undefined;
}

const LISTED_STATES: Readonly<Partial<Record<KeyState, ListQuery["state"]>>> = {
  [KeyState.FREE]: "free",
  [KeyState.BLOCKED]: "blocked",
  [KeyState.COOLING]: "cooling",
};

/** A ListKeysRequest as the store's query: page_size 0 means 100, at most 1000; UNSPECIFIED state lists all. */
export function listQueryOf(request: { readonly state: KeyState; readonly pageSize: number; readonly pageToken: string }): ListQuery {
  const pageSize = pageSizeOf(request.pageSize);
  if (request.state === KeyState.UNSPECIFIED) return { pageSize, pageToken: request.pageToken };
  const state = LISTED_STATES[request.state];
  if (!state) {
    throw new KeyPoolError("invalid-argument", `state ${request.state} is not a KeyState: use FREE, BLOCKED, COOLING or UNSPECIFIED (every state)`);
  }
  return { state, pageSize, pageToken: request.pageToken };
}
