import { KeyPoolError } from "./errors.js";

/**
 * THE rules of a key pool and the words for breaking them, in one place: the pool, the Redis
 * store's script replies, the service, the client and the CLI all take their limits and
 * messages from here, so every layer says the same thing. Messages name what was wrong and the
 * fix, and never carry a whole key.
 */

/** Keys start with this. */
export const KEY_PREFIX = "kp_";
/** Characters of one encoded token (a key after its prefix, or a lease id). */
export const TOKEN_CHARS = 24;
/** Most keys one GenerateKeys call may create (and one KeepAlive message may name). */
export const MAX_GENERATE = 1000;
/** The longest wait an AcquireKey may ask for. */
export const MAX_WAIT_MS = 300_000;
/** What a pool name may be: it sits inside a Redis Cluster hash tag, so never `{` or `}`. */
export const POOL_NAME = /^[A-Za-z0-9._:-]{1,100}$/;
/** POOL_NAME in words. */
export const POOL_NAME_RULE = "1 to 100 characters of [A-Za-z0-9._:-]";

/** Every message a caller may see for a broken rule. Pure functions of their arguments. O(1). */
export const messages = {
  countOutOfRange: (count: number) => `count must be between 0 and ${MAX_GENERATE} (got ${count})`,
  countOverLimit: (count: number, limit: number) => `count must be at most ${limit} (got ${count}); split the request`,
  poolFull: (held: number, maxKeys: number, more: number) =>
    `the pool holds ${held} of at most ${maxKeys} keys (--max-keys); ${more} more do not fit: delete keys or raise --max-keys`,
  noFreeKey: (live: number) =>
    live === 0
      ? "no free key: the pool holds no keys; generate keys first"
      : `no free key: all ${live} keys are blocked; release keys or generate more`,
  unknownKey: () => "no such key: it was never generated, was deleted or expired",
  expiredKey: () => "no such key: it expired because it was not kept alive in time",
  notCurrentLease: () => "lease_id is not the key's current lease: your lease ran out and the key was acquired again",
  reclaiming: () => "the pool is reclaiming a large batch of expired keys; retry shortly",
  waitOutOfRange: (waitMs: number) => `wait must be between 0 and ${MAX_WAIT_MS / 1000}s (got ${waitMs} ms)`,
  noKeyWithin: (waitMs: number) => `no key became free within ${waitMs} ms; release keys or generate more`,
  malformedKey: (field: string, length: number) =>
    `${field} ${length === 0 ? "is empty" : `is malformed (got ${length} characters)`}: ` +
    `a key is "${KEY_PREFIX}" followed by ${TOKEN_CHARS} characters of [A-Za-z0-9_-]`,
  malformedLeaseId: (field: string, length: number) =>
    `${field} ${length === 0 ? "is empty" : `is malformed (got ${length} characters)`}: ` +
    `a lease id is ${TOKEN_CHARS} characters of [A-Za-z0-9_-], as AcquireKey returned it`,
  invalidPoolName: (pool: string) =>
    `pool name ${JSON.stringify(pool)} is invalid: use ${POOL_NAME_RULE}`,
  notPositive: (name: string, value: number) => `${name} must be a positive integer (got ${value})`,
} as const;

/**
 * Throws a RangeError naming the first of a pool's settings (TTLs, capacity, max lease, catch-up
 * budget; by name) that is no positive whole number: 0 would collide with "not blocked", and a
 * zero budget would make every acquire UNAVAILABLE. Every store checks its settings with this.
 * O(settings).
 */
export function assertPoolSettings(settings: Readonly<Record<string, number>>): void {
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(messages.notPositive(name, value));
  }
}

/**
 * The number of keys a GenerateKeys of `count` makes (0 means 1); throws INVALID_ARGUMENT for
 * anything but an integer in 0..MAX_GENERATE. O(1).
 */
export function keysToGenerate(count: number): number {
  const n = count === 0 ? 1 : count;
  if (!Number.isInteger(n) || n < 0 || n > MAX_GENERATE) throw new KeyPoolError("invalid-argument", messages.countOutOfRange(count));
  return n;
}

/** Whether `pool` is a usable pool name. O(1). */
export function isPoolName(pool: string): boolean {
  return POOL_NAME.test(pool);
}
