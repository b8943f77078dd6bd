import type { PoolSettings } from "../../pool/index.js";
import { isPoolName, messages } from "../../pool/rules.js";

/**
 * The Redis keys that hold one pool (or one shard of it), in the order every script receives them
 * as KEYS. All share one hash tag (see shardTag in shard-keys.ts), so they live in one Redis
 * Cluster slot and every script may touch all of them atomically.
 *
 * - `free-at`  HASH position -> key: the free keys as an array, positions 0 .. n-1
 * - `free-pos` HASH key -> position, its inverse (so removal swaps with the last: O(1))
 * - `blocks`   ZSET key -> blockedUntil (ms), blocked keys only
 * - `lives`    ZSET key -> expiresAt (ms), every key not yet reclaimed, dead or alive
 * - `created`  HASH key -> createdAt (ms)
 * - `leases`   HASH key -> lease id, blocked keys only
 * - `clock`    STRING: the latest instant any script used; time never goes back within a pool
 * - `settings` HASH blockTtlMs, keepaliveTtlMs, maxKeys, maxLeaseMs, maxCooldownMs: the pool's rules (see settings-script.ts)
 * - `fencing`  HASH key -> the fencing token of its latest lease (HINCRBY on every acquire, so no
 *              two servers ever hand out one token of a key twice); kept while the key is free
 * - `acquired` HASH key -> acquiredAt (ms) of its current lease, blocked keys only
 * - `cooling`  ZSET key -> cooldownUntil (ms), cooling keys only (released with a cooldown)
 * - `order`    ZSET key -> creation sequence, every key in `lives`: the listing's stable order
 * - `seq`      STRING: the latest creation sequence handed out (INCRBY on generate and import)
 *
 * The free array gives a uniformly random free key in O(1): position = a random number the
 * store draws, modulo n (Redis's SRANDMEMBER picks a hash bucket, not a member, so it is not
 * uniform).
 */
export const POOL_KEY_NAMES = [
  "free-at", "free-pos", "blocks", "lives", "created", "leases", "clock", "settings", "fencing", "acquired",
  "cooling", "order", "seq",
] as const;

/**
 * What a Redis pool keeps in its settings hash: the settings GetPoolStats reports, the longest a
 * lease may be renewed for (`--max-lease`) and the longest cooldown a release may ask for
 * (`--max-cooldown`), so every server applies the same rules.
 */
export interface RedisPoolSettings extends PoolSettings {
  readonly maxLeaseMs: number;
}

/**
 * The fields of a pool's settings hash, in the order scripts read them (HMGET) and append them
 * to every reply (see script-events.ts).
 */
export const SETTING_FIELDS = ["blockTtlMs", "keepaliveTtlMs", "maxKeys", "maxLeaseMs", "maxCooldownMs"] as const satisfies readonly (keyof RedisPoolSettings)[];

/**
 * The key where keypool 0.1 kept a pool's free keys (a SET); opening such a pool moves them into
 * the free array (see settings-script.ts).
 */
export const LEGACY_FREE_NAME = "free";

/** Throws a RangeError naming the fix unless `pool` is a usable pool name. O(1). */
export function assertPoolName(pool: string): void {
  if (isPoolName(pool)) return;
  throw new RangeError(messages.invalidPoolName(pool));
}

/** The suffix of a shard's pub/sub channel (see shardChannel); the scripts derive it from KEYS[1]. */
export const CHANNEL_SUFFIX = "freed";
