import { CHANNEL_SUFFIX, POOL_KEY_NAMES, assertPoolName } from "./pool-keys.js";

/** Which shard of a pool a store serves: `index` of `count` (count 1: the whole pool). */
export interface ShardRef {
  readonly index: number;
  readonly count: number;
}

/** The most shards a pool may have (`--pool-shards`): far more than any cluster has masters. */
export const MAX_SHARDS = 1_024;

/**
 * The hash tag of one shard: `keypool:<pool>` for a pool of one shard (the layout of every pool
 * made before sharding), `keypool:<pool>#<index>` otherwise. `#` is no pool-name character, so
 * no pool's shard tag equals another pool's tag. O(1).
 */
export function shardTag(pool: string, shard?: ShardRef): string {
  assertPoolName(pool);
  return !shard || shard.count <= 1 ? `keypool:${pool}` : `keypool:${pool}#${shard.index}`;
}

/** The Redis keys of one shard, in script KEYS order (see POOL_KEY_NAMES), all under its tag. O(1). */
export function shardKeys(pool: string, shard?: ShardRef): readonly string[] {
  const tag = shardTag(pool, shard);
  return POOL_KEY_NAMES.map((name) => `{${tag}}:${name}`);
}

/** The shard's freed-keys channel, derived like the scripts derive it (see lua-prelude.ts). O(1). */
export function shardChannel(pool: string, shard?: ShardRef): string {
  return `{${shardTag(pool, shard)}}:${CHANNEL_SUFFIX}`;
}

/**
 * The shard a key belongs to, forever: FNV-1a (32-bit) of its characters, modulo `count`. Keys
 * are random, so shards get equal shares. Every server of a pool must use the same `count`
 * (see shard-layout.ts). O(key length).
 */
export function shardOf(key: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % count;
}
