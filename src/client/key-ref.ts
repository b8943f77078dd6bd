import { KeyPoolClientError } from "./errors.js";
import type { KeyRef, PoolCallOptions } from "./types.js";

/** A key and the pool a call sends it to. */
export interface KeyTarget {
  readonly key: string;
  /** "" for the server's default pool. */
  readonly pool: string;
}

/**
 * Where a call naming `ref` goes: a PoolKey's own pool, or for a key string the `pool` option
 * ("" without one: the server's default pool). A PoolKey with a different `pool` option is
 * INVALID_ARGUMENT, since one of the two is a mistake. O(1).
 */
export function keyTarget(ref: KeyRef, options: PoolCallOptions | undefined, method: string): KeyTarget {
  if (typeof ref === "string") return { key: ref, pool: options?.pool ?? "" };
  const named = options?.pool;
  if (named !== undefined && named !== "" && named !== ref.pool) {
    throw new KeyPoolClientError("INVALID_ARGUMENT", method, `the key lives in pool "${ref.pool}" but the call names pool "${named}": pass the key's string to address another pool`);
  }
  return { key: ref.key, pool: ref.pool };
}
