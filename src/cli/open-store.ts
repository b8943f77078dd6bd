import { systemRandom } from "../random.js";
import { backgroundScheduler } from "../scheduler.js";
import { EmbeddedPools } from "../store/embedded-pools.js";
import type { PoolSet } from "../store/pool-set.js";
import type { RedisPoolSettings } from "../store/redis/pool-keys.js";
import { PoolSettingsMismatch } from "../store/redis/settings-gate.js";
import { RedisPools } from "../store/redis-pools.js";
import { ConfigError } from "./config.js";
import type { ServeConfig } from "./config.js";
import { formatDuration } from "./duration.js";

/** How long start-up waits for a first Redis connection before serving anyway. */
const REDIS_READY_WAIT_MS = 5_000;
/** Each setting's flag, and how its value is written in messages. */
const SETTING_FLAGS: Record<keyof RedisPoolSettings, readonly [string, (value: number) => string]> = {
  blockTtlMs: ["--block-ttl", formatDuration],
  keepaliveTtlMs: ["--keepalive-ttl", formatDuration],
  maxKeys: ["--max-keys", String],
  maxLeaseMs: ["--max-lease", formatDuration],
  maxCooldownMs: ["--max-cooldown", formatDuration],
};

/** The one-line refusal of a server whose flags disagree with its Redis pool's settings. */
export function mismatchMessage(mismatch: PoolSettingsMismatch): string {
  const said = (settings: RedisPoolSettings): string =>
    mismatch.fields.map((f) => `${SETTING_FLAGS[f][0]} ${SETTING_FLAGS[f][1](settings[f])}`).join(" and ");
  return `redis pool '${mismatch.pool}' has ${said(mismatch.poolSettings)} but this server was started with ` +
    `${said(mismatch.wanted)}; start with the pool's settings or change them with --redis-update-settings`;
}

/** The one line a start-up refusal says, or undefined for an error that is no refusal (Redis failing). */
function refusalOf(err: unknown): string | undefined {
  if (err instanceof PoolSettingsMismatch) return mismatchMessage(err);
  return err instanceof RangeError ? err.message : undefined;
}

/**
 * Opens the pools of the store the configuration names (`--pool` names the default pool): Redis (`--store redis`: one node, a cluster or
 * sentinels, the pool in `--pool-shards` shards), the durable embedded store
 * (`--data-dir`), or the in-memory default. A data dir that cannot be used fails start-up with
 * a one-line error naming it; it is never replaced by an empty pool.
 *
 * Redis: waits up to 5 s for Redis and checks the pool's settings against the flags; a mismatch
 * is a ConfigError (see mismatchMessage). Redis unreachable: it serves anyway (UNAVAILABLE,
 * NOT_SERVING) and checks once Redis answers; a mismatch found then goes to `onRefused`, as the
 * same one line, and the store never serves.
 */
export async function openStore(config: ServeConfig, onRefused: (message: string) => void = () => {}): Promise<PoolSet> {
  const settings = { blockTtlMs: config.blockTtlMs, keepaliveTtlMs: config.keepaliveTtlMs, maxKeys: config.maxKeys, maxLeaseMs: config.maxLeaseMs };
  if (config.store === "redis") {
    const { endpoint, shards, waitReplicas } = config.redis;
    // Waits for Redis a moment so the first calls do not race the connection; if it is down,
    // serves anyway (UNAVAILABLE, NOT_SERVING until it is back). Every server of the default pool
    // must split it alike and share its settings: checked whenever Redis answers at start-up
    // (the settings also later, when it does not); named pools are checked on their first use.
    const pools = await RedisPools.open({
      ...settings, maxCooldownMs: config.maxCooldownMs, endpoint, shards, waitReplicas, defaultPool: config.pool,
      maxPools: config.maxPools, updateSettings: config.redisUpdateSettings, describeMismatch: mismatchMessage,
    }, REDIS_READY_WAIT_MS).catch((err: unknown) => {
      const refusal = refusalOf(err);
      throw refusal ? new ConfigError(refusal) : err;
    });
    pools.onRefused((mismatch) => onRefused(mismatchMessage(mismatch)));
    return pools;
  }
  try {
    return await EmbeddedPools.open({
      ...settings, maxCooldownMs: config.maxCooldownMs, dataDir: config.dataDir, scheduler: backgroundScheduler, random: systemRandom,
      defaultPool: config.pool, maxPools: config.maxPools,
    });
  } catch (err) {
    throw new ConfigError((err as Error).message.split("\n")[0]!);
  }
}
