import { isPoolName } from "../../pool/index.js";
import { CHANNEL_SUFFIX, POOL_KEY_NAMES, assertPoolName } from "./pool-keys.js";

/** Which shard of a pool a store serves: `index` of `count` (count 1: the whole pool). */
export interface ShardRef {
  readonly index: number;
  readonly count: number;
}

/** The most shards a pool may have (`--pool-shards`): far more than any cluster has masters. */
export const MAX_SHARDS = 1_024;

/** Redis Cluster's slot count. */
const SLOTS = 16_384;

/**
 * The hash tag of one shard: `keypool:<pool>` for a pool of one shard (the layout of every pool
 * made before sharding), else `keypool:<pool>#<index>`, with `~<n>` appended for the smallest n
 * that puts the tag's slot in the index-th of `count` equal slot ranges. A cluster made by
 * `redis-cli --cluster create` gives each master one equal range, so with shards = masters each
 * master serves one shard. `#` is no pool-name character, so no tag of one pool is another's.
 * O(count) on average (each try hits the range with odds 1/count).
 */
export function shardTag(pool: string, shard?: ShardRef): string {
  assertPoolName(pool);
  if (!shard || shard.count <= 1) return `keypool:${pool}`;
  for (let n = 0; ; n++) {
    const tag = `keypool:${pool}#${shard.index}${n === 0 ? "" : `~${n}`}`;
    if (Math.floor((hashSlot(tag) * shard.count) / SLOTS) === shard.index) return tag;
  }
}

/** Redis Cluster's slot of a hash tag's content: CRC16 (XMODEM) of its UTF-8 bytes, mod 16384. O(length). */
export function hashSlot(tag: string): number {
  let crc = 0;
  for (const byte of new TextEncoder().encode(tag)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % SLOTS;
}

/** The Redis keys of one shard, in script KEYS order (see POOL_KEY_NAMES), all under its tag. O(1). */
export function shardKeys(pool: string, shard?: ShardRef): readonly string[] {
  const tag = shardTag(pool, shard);
  return POOL_KEY_NAMES.map((name) => `{${tag}}:${name}`);
}

/** A pattern (PSUBSCRIBE) matching the freed-keys channel of every shard of every pool. */
export const FREED_PATTERN = `{keypool:*}:${CHANNEL_SUFFIX}`;

/**
 * The pool a freed-keys channel belongs to (see shardChannel), or undefined for a channel that
 * is none of a pool. O(length).
 */
export function poolOfChannel(channel: string): string | undefined {
  const match = /^\{keypool:([^#}]+)(#[^}]*)?\}:(.+)$/.exec(channel);
  return match && match[3] === CHANNEL_SUFFIX && isPoolName(match[1]!) ? match[1] : undefined;
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
  return fnv1a(key) % count;
}

/** FNV-1a (32-bit) of `text`'s UTF-16 code units, as an unsigned integer. O(length). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
