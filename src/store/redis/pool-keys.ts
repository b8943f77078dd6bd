/** What a pool name may be: it sits inside a Redis Cluster hash tag, so never `{` or `}`. */
const POOL_NAME = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * The Redis keys that hold one pool, in the order every script receives them as KEYS. All share
 * the hash tag `{keypool:<pool>}`, so a pool lives in one Redis Cluster slot and every script
 * may touch all of them atomically.
 *
 * - `free-at`  HASH position -> key: the free keys as an array, positions 0 .. n-1
 * - `free-pos` HASH key -> position, its inverse (so removal swaps with the last: O(1))
 * - `blocks`  ZSET key -> blockedUntil (ms), blocked keys only
 * - `lives`   ZSET key -> expiresAt (ms), every key not yet reclaimed, dead or alive
 * - `created` HASH key -> createdAt (ms)
 * - `leases`  HASH key -> lease id, blocked keys only
 * - `clock`   STRING: the latest instant any script used; time never goes back within a pool
 *
 * The free array gives a uniformly random free key in O(1): position = a random number the
 * store draws, modulo n (Redis's SRANDMEMBER picks a hash bucket, not a member, so it is not
 * uniform).
 */
export const POOL_KEY_NAMES = ["free-at", "free-pos", "blocks", "lives", "created", "leases", "clock"] as const;

/** Throws a RangeError naming the fix unless `pool` is a usable pool name. O(1). */
export function assertPoolName(pool: string): void {
  if (POOL_NAME.test(pool)) return;
  throw new RangeError(`pool name ${JSON.stringify(pool)} is invalid: use 1 to 100 characters of [A-Za-z0-9._:-]`);
}

/** The suffix of a pool's pub/sub channel (see poolChannel); the scripts derive it from KEYS[1]. */
export const CHANNEL_SUFFIX = "freed";

/**
 * The pub/sub channel on which a pool's scripts announce that keys may have become free
 * (generation, release, automatic release), under the pool's hash tag like its keys. O(1).
 */
export function poolChannel(pool: string): string {
  assertPoolName(pool);
  return `{keypool:${pool}}:${CHANNEL_SUFFIX}`;
}

/** The Redis keys of `pool`, in KEYS order (see POOL_KEY_NAMES). O(1). */
export function poolKeys(pool: string): readonly string[] {
  assertPoolName(pool);
  return POOL_KEY_NAMES.map((name) => `{keypool:${pool}}:${name}`);
}
