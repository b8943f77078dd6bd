import { systemClock } from "../clock.js";
import { systemRandom } from "../random.js";
import { DurableStore } from "../store/durable-store.js";
import type { KeyStore } from "../store/key-store.js";
import { MemoryStore } from "../store/memory-store.js";
import { ShardedRedisStore } from "../store/sharded-redis-store.js";
import { ConfigError } from "./config.js";
import type { ServeConfig } from "./config.js";

/** How long start-up waits for a first Redis connection before serving anyway. */
const REDIS_READY_WAIT_MS = 5_000;

/**
 * Opens the store the configuration names: Redis (`--store redis`: one node, a cluster or
 * sentinels, the pool in `--pool-shards` shards), the durable embedded store
 * (`--data-dir`), or the in-memory default. A data dir that cannot be used fails start-up with
 * a one-line error naming it; it is never replaced by an empty pool.
 */
export async function openStore(config: ServeConfig): Promise<KeyStore> {
  const settings = { blockTtlMs: config.blockTtlMs, keepaliveTtlMs: config.keepaliveTtlMs, maxKeys: config.maxKeys };
  if (config.store === "redis") {
    const { endpoint, shards, waitReplicas } = config.redis;
    const store = new ShardedRedisStore({ ...settings, endpoint, shards, waitReplicas, pool: config.pool });
    // Give Redis a moment so the first calls do not race the connection; if it is down, serve
    // anyway: calls answer UNAVAILABLE and health says NOT_SERVING until it is back.
    const up = await store.ready(REDIS_READY_WAIT_MS).then(() => true, () => false);
    // Every server of a pool must split it alike; checked whenever Redis answers at start-up.
    if (up) {
      const mismatch = await store.checkLayout().then(() => undefined, (err: Error) => (err instanceof RangeError ? err : undefined));
      if (mismatch) {
        await store.close();
        throw new ConfigError(mismatch.message);
      }
    }
    return store;
  }
  if (config.dataDir !== undefined) {
    try {
      return await DurableStore.open({ ...settings, dataDir: config.dataDir, clock: systemClock, random: systemRandom });
    } catch (err) {
      throw new ConfigError((err as Error).message.split("\n")[0]!);
    }
  }
  return new MemoryStore({ ...settings, clock: systemClock, random: systemRandom });
}
