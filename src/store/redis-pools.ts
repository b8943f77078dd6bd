import { KeyPoolError } from "../pool/index.js";
import type { StoreDescription } from "./key-store.js";
import { resolvePoolName } from "./pool-set.js";
import type { PoolSet } from "./pool-set.js";
import { RedisLink } from "./redis/redis-link.js";
import { ownSweeper } from "./redis/redis-sweeper.js";
import type { RedisSweeper } from "./redis/redis-sweeper.js";
import { FREED_PATTERN, poolOfChannel } from "./redis/shard-keys.js";
import { PoolSettingsMismatch } from "./redis/settings-gate.js";
import { ShardedRedisStore } from "./sharded-redis-store.js";
import type { ShardedRedisStoreOptions } from "./sharded-redis-store.js";

/** Settings of a server's Redis pools: every pool gets the same flags. */
export interface RedisPoolsOptions extends Omit<ShardedRedisStoreOptions, "pool" | "link" | "onDemand" | "sweeper"> {
  /** `--pool`: the default pool's name (a request's `pool: ""`). */
  readonly defaultPool: string;
  /** `--max-pools`: the most pools this server opens (the default pool included). */
  readonly maxPools: number;
}

/**
 * The pools of one Redis (a node, sentinels or a cluster) as a server serves them: ONE shared
 * pair of connections (commands, and one pattern subscription to every pool's freed-keys channel)
 * and ONE background sweeper (see RedisSweeper: its idle cost is bounded whatever the number of
 * pools) whatever the number of pools, and one ShardedRedisStore per pool (`--pool-shards` shards
 * each), made on first use and kept for the server's life, at most `maxPools`.
 *
 * The default pool is checked at open, as a one-pool server always was: its shard layout and
 * settings must match this server's flags, or start-up is refused (`open` rejects). Every other
 * pool is served on demand (see RedisStoreOptions.onDemand): its layout and settings are checked
 * on its first call; a pool whose settings differ answers FAILED_PRECONDITION naming both values
 * (checked again on the next call), the server keeps serving the others. A pool Redis does not
 * hold is made by the first call that adds keys (GenerateKeys, ImportKeys) with this server's
 * settings; any other call on it answers as an empty pool would, writing nothing, so `create`
 * makes no difference here. `--redis-update-settings` gives every pool this server opens its
 * settings (a named pool on its first call, if Redis holds it).
 */
export class RedisPools implements PoolSet {
  readonly defaultPool: string;
  private readonly link: RedisLink;
  /** The one background sweeper of every pool's shards (see RedisSweeper); none with `sweepIntervalMs` 0. */
  readonly sweeper: RedisSweeper | undefined;
  private readonly stores = new Map<string, ShardedRedisStore>();
  private readonly home: ShardedRedisStore;
  private closed = false;

  /**
   * Opens the pools: waits up to `readyTimeoutMs` (default 5000) for Redis, then checks the
   * default pool's layout and settings; rejects with a RangeError (another --pool-shards) or a
   * PoolSettingsMismatch, after closing. Redis unreachable: resolves anyway (UNAVAILABLE until it
   * answers; a mismatch found then goes to `onRefused`).
   */
  static async open(options: RedisPoolsOptions, readyTimeoutMs = 5_000): Promise<RedisPools> {
    const pools = new RedisPools(options);
    const up = await pools.link.ready(readyTimeoutMs).then(() => true, () => false);
    if (!up) return pools;
    try {
      await pools.home.checkLayout();
      await pools.home.checkSettings();
    } catch (err) {
      if (err instanceof RangeError || err instanceof PoolSettingsMismatch) {
        await pools.close();
        throw err;
      }
    }
    return pools;
  }

  /** The pools, not yet connected (prefer `open`). Throws RangeError for a bad default pool name or settings. */
  constructor(private readonly options: RedisPoolsOptions) {
    if (!Number.isSafeInteger(options.maxPools) || options.maxPools < 1) {
      throw new RangeError(`maxPools must be a positive integer (got ${options.maxPools})`);
    }
    this.defaultPool = options.defaultPool;
    const timeoutMs = (options.commandTimeoutMs ?? 2_000) + (options.waitReplicas?.timeoutMs ?? 0);
    this.link = new RedisLink(options.endpoint, timeoutMs, { pattern: FREED_PATTERN });
    this.sweeper = ownSweeper(options);
    this.home = this.open(options.defaultPool, false);
  }

  /**
   * The store of pool `name` ("" = the default pool), made on first use: O(1) (O(shards) the
   * first time, no I/O). INVALID_ARGUMENT for a malformed name; RESOURCE_EXHAUSTED for a pool
   * beyond `maxPools` (with or without `create`: it may hold keys in Redis, so it is never
   * answered as empty).
   */
  pool(name: string, _create: boolean): ShardedRedisStore {
    const full = resolvePoolName(name, this.defaultPool);
    const known = this.stores.get(full);
    if (known) return known;
    if (this.closed) throw new KeyPoolError("unavailable", "the server is shutting down");
    if (this.stores.size >= this.options.maxPools) {
      throw new KeyPoolError(
        "resource-exhausted",
        `this server serves at most ${this.options.maxPools} pools (--max-pools) and pool "${full}" is not one of them: raise --max-pools or use a pool it serves`,
      );
    }
    return this.open(full, true);
  }

  /**
   * The pools this server serves that Redis holds (the default always, then the others once a
   * reply showed their settings), the default first: a pool only read while absent is not one.
   * O(pools).
   */
  poolNames(): readonly string[] {
    return [...this.stores].flatMap(([name, store]) => (store === this.home || store.inRedis() ? [name] : []));
  }

  /**
   * Calls `listener(pool)` when keys of `pool` may have become free through any server (one
   * pattern subscription for all pools), and for every opened pool after a reconnection. Pools
   * this server has not opened are named too (a waiter's pool is opened by its first try). O(1)
   * per event.
   */
  onKeysFreed(listener: (pool: string) => void): () => void {
    return this.link.subscription.onEvent((channel) => {
      if (channel === undefined) {
        for (const pool of this.stores.keys()) listener(pool);
        return;
      }
      const pool = poolOfChannel(channel);
      if (pool !== undefined) listener(pool);
    });
  }

  /** Whether Redis is reachable and the default pool's settings agree. O(shards). */
  isServing(): boolean {
    return this.home.isServing();
  }

  onServingChange(listener: (serving: boolean) => void): () => void {
    return this.home.onServingChange(listener);
  }

  /** Calls `listener` once if the default pool turns out to have other settings (found after a late connection). */
  onRefused(listener: (mismatch: PoolSettingsMismatch) => void): () => void {
    return this.home.onRefused(listener);
  }

  describe(): StoreDescription {
    const home = this.home.describe();
    return { ...home, details: { ...home.details, pool: this.defaultPool, maxPools: this.options.maxPools } };
  }

  /** Closes every pool's store, then the sweeper (every timer; sweeps in flight end first), then the shared connections. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.stores.values()].map((s) => s.close()));
    await this.sweeper?.close();
    await this.link.close();
  }

  private open(pool: string, onDemand: boolean): ShardedRedisStore {
    const { defaultPool: _d, maxPools: _m, ...shared } = this.options;
    const store = new ShardedRedisStore({ ...shared, pool, link: this.link, onDemand, sweeper: this.sweeper });
    this.stores.set(pool, store);
    return store;
  }
}
