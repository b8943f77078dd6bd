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
/**
 * What a pool name may be (`--pool`, a request's `pool`): lower case so two spellings never name
 * two pools; it sits inside a Redis Cluster hash tag and a metrics label, so never `{`, `}` or `"`.
 */
export const POOL_NAME = /^[a-z0-9_.-]{1,64}$/;
/** POOL_NAME in words. */
export const POOL_NAME_RULE = "1 to 64 characters of [a-z0-9_.-]";
/** The default pool's name when `--pool` is not given (a request's `pool: ""` means it). */
export const DEFAULT_POOL = "default";
/** Most keys one ImportKeys call may add. */
export const MAX_IMPORT = 1000;
/** The shortest key (imported or generated) in characters. */
export const MIN_KEY_CHARS = 8;
/** The longest key in characters. */
export const MAX_KEY_CHARS = 512;
/** The key format in words: what every malformed-key message says. */
export const KEY_FORMAT_RULE =
  `a key is ${MIN_KEY_CHARS} to ${MAX_KEY_CHARS} characters of printable ASCII without spaces (generated keys are "kp_" followed by 24 characters of [A-Za-z0-9_-])`;
/** The longest cooldown by default (`--max-cooldown`). */
export const DEFAULT_MAX_COOLDOWN_MS = 60 * 60 * 1000;
/** Keys per ListKeys page when the request says 0. */
export const DEFAULT_PAGE_SIZE = 100;
/** Most keys per ListKeys page. */
export const MAX_PAGE_SIZE = 1000;
/** Entries one ListKeys call may examine, per key of its page size (so a filter stays O(pageSize)). */
export const LIST_SCAN_FACTOR = 4;

/** Every message a caller may see for a broken rule. Pure functions of their arguments. O(1). */
export const messages = {
  countOutOfRange: (count: number) => `count must be between 0 and ${MAX_GENERATE} (got ${count})`,
  countOverLimit: (count: number, limit: number) => `count must be at most ${limit} (got ${count}); split the request`,
  poolFull: (held: number, maxKeys: number, more: number) =>
    `the pool holds ${held} of at most ${maxKeys} keys (--max-keys); ${more} more do not fit: delete keys or raise --max-keys`,
  noFreeKey: (live: number, cooling = 0) =>
    live === 0
      ? "no free key: the pool holds no keys; generate or import keys first"
      : cooling === 0
        ? `no free key: all ${live} keys are blocked; release keys or generate more`
        : `no free key: all ${live} keys are blocked or cooling (${cooling} cooling); wait for a cooldown to end, release keys or add more`,
  unknownKey: () => "no such key: it was never generated, was deleted or expired",
  expiredKey: () => "no such key: it expired because it was not kept alive in time",
  notCurrentLease: () => "lease_id is not the key's current lease: your lease ran out and the key was acquired again",
  reclaiming: () => "the pool is reclaiming a large batch of expired keys; retry shortly",
  waitOutOfRange: (waitMs: number) => `wait must be between 0 and ${MAX_WAIT_MS / 1000}s (got ${waitMs} ms)`,
  noKeyWithin: (waitMs: number) => `no key became free within ${waitMs} ms; release keys or generate more`,
  malformedKey: (field: string, length: number, badAt?: number) =>
    `${field} ${length === 0 ? "is empty" : `is malformed (got ${length} characters` +
      `${badAt === undefined ? "" : `; character ${badAt + 1} is not printable ASCII or is a space`})`}: ${KEY_FORMAT_RULE}`,
  importCountOutOfRange: (count: number) => `keys must hold between 1 and ${MAX_IMPORT} keys (got ${count}); split the import`,
  keyExists: (field: string) => `${field} is already in this pool: nothing of this import was added; leave it out and import again`,
  keyRepeated: (field: string, first: string) =>
    `${field} repeats ${first}: nothing of this import was added; import each key once`,
  cooldownOutOfRange: (cooldownMs: number, maxCooldownMs: number) =>
    `cooldown must be between 0 and ${maxCooldownMs} ms (--max-cooldown; got ${cooldownMs} ms)`,
  coolingNotYourLease: () =>
    "lease_id is not the key's current lease: the key is cooling (its lease was released with a cooldown); stop using it",
  pageSizeOutOfRange: (pageSize: number) => `page_size must be between 0 and ${MAX_PAGE_SIZE} (got ${pageSize})`,
  badPageToken: (why: string) => `page_token is not a token of this listing (${why}): start the listing over with an empty page_token`,
  unknownState: (state: string) => `state ${JSON.stringify(state)} is not a key state: use free, blocked or cooling`,
  malformedLeaseId: (field: string, length: number) =>
    `${field} ${length === 0 ? "is empty" : `is malformed (got ${length} characters)`}: ` +
    `a lease id is ${TOKEN_CHARS} characters of [A-Za-z0-9_-], as AcquireKey returned it`,
  // A name as long as a key is never echoed (a key pasted into `pool` must not reach the reply or
  // the log): its length and first bad character say what is wrong.
  invalidPoolName: (pool: string) => {
    if (pool.length < MIN_KEY_CHARS) return `pool name ${JSON.stringify(pool)} is invalid: use ${POOL_NAME_RULE}`;
    const chars = [...pool];
    const at = chars.findIndex((c) => !/[a-z0-9_.-]/.test(c));
    const where = pool.length > 64 || at < 0 ? "" : ` at character ${at + 1} (${JSON.stringify(chars[at])})`;
    return `pool name of ${pool.length} characters is invalid${where}: use ${POOL_NAME_RULE}`;
  },
  tooManyPools: (pool: string, maxPools: number) =>
    `this server holds at most ${maxPools} pools (--max-pools) and pool "${pool}" is not one of them: raise --max-pools or use a pool it holds`,
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

/** Throws INVALID_ARGUMENT naming the rule unless `pool` is a usable pool name. O(1). */
export function assertPoolName(pool: string): void {
  if (!isPoolName(pool)) throw new KeyPoolError("invalid-argument", messages.invalidPoolName(pool));
}

/**
 * Throws INVALID_ARGUMENT unless `cooldownMs` is a whole number of ms in 0..maxCooldownMs
 * (0: no cooldown). O(1).
 */
export function assertCooldown(cooldownMs: number, maxCooldownMs: number): void {
  if (!Number.isSafeInteger(cooldownMs) || cooldownMs < 0 || cooldownMs > maxCooldownMs) {
    throw new KeyPoolError("invalid-argument", messages.cooldownOutOfRange(cooldownMs, maxCooldownMs));
  }
}

/** The page size a ListKeys of `pageSize` uses (0 means DEFAULT_PAGE_SIZE); INVALID_ARGUMENT past MAX_PAGE_SIZE. O(1). */
export function pageSizeOf(pageSize: number): number {
  if (!Number.isSafeInteger(pageSize) || pageSize < 0 || pageSize > MAX_PAGE_SIZE) {
    throw new KeyPoolError("invalid-argument", messages.pageSizeOutOfRange(pageSize));
  }
  return pageSize === 0 ? DEFAULT_PAGE_SIZE : pageSize;
}
