import type { Cluster, Redis } from "ioredis";
import { shardTag } from "./shard-keys.js";

/**
 * Checks that the pool is split into `shards` shards, recording it on first use (SET NX, then
 * GET, under the pool's unsharded tag; with `record` false only the GET, for a pool that may not
 * exist yet). Every server of a pool must route keys alike, so a server started with another
 * `--pool-shards` is refused with a message naming both values. Two round trips (one without
 * recording), once at start-up or a pool's first use.
 */
export async function checkShardLayout(
  client: Redis | Cluster,
  pool: string,
  shards: number,
  record = true,
  /** Runs each Redis call (e.g. RedisConnection.run, so a fault is UNAVAILABLE). */
  run: <T>(call: () => Promise<T>) => Promise<T> = (call) => call(),
): Promise<void> {
  const key = `{${shardTag(pool)}}:shards`;
  if (record) await run(() => client.set(key, String(shards), "NX"));
  const recorded = await run(() => client.get(key));
  if (recorded !== null && Number(recorded) !== shards) {
    throw new RangeError(
      `pool "${pool}" is split into ${recorded} shards but this server has --pool-shards ${shards}: ` +
        `start every server of the pool with --pool-shards ${recorded} (or use a new --pool)`,
    );
  }
}
