import type { Clock } from "../../clock.js";
import type { Random } from "../../random.js";
import type { Scheduler } from "../../scheduler.js";
import type { RedisEndpoint } from "./endpoint.js";
import type { RedisLink } from "./redis-link.js";
import type { RedisSweeper } from "./redis-sweeper.js";
import type { ReplicaWait } from "./replica-wait.js";
import type { PoolSettingsMismatch } from "./settings-gate.js";

/** Settings of a sharded Redis store. */
export interface ShardedRedisStoreOptions {
  /** A Redis Cluster (shards spread over its masters), or one node / sentinels (one core). */
  readonly endpoint: RedisEndpoint;
  /** Connections to `endpoint` shared with other pools (RedisPools); the store never closes them. */
  readonly link?: RedisLink;
  /** Which pool (default "default"). */
  readonly pool?: string;
  /** `--pool-shards`: how many parts the pool is split into, each under its own hash tag. */
  readonly shards: number;
  readonly blockTtlMs: number;
  readonly keepaliveTtlMs: number;
  /** The whole pool's limit on live keys, over all shards. */
  readonly maxKeys: number;
  /** No renewal carries a block past a lease's acquiredAt + this (default 24 h). */
  readonly maxLeaseMs?: number;
  /** The longest cooldown a release may ask for (default 1 h). */
  readonly maxCooldownMs?: number;
  /** Served on demand (see RedisStoreOptions.onDemand); the shard layout is then checked on first use. */
  readonly onDemand?: boolean;
  /** The words for a mismatch of settings (see RedisStoreOptions.describeMismatch). */
  readonly describeMismatch?: (mismatch: PoolSettingsMismatch) => string;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly commandTimeoutMs?: number;
  /** See RedisStoreOptions.sweepIntervalMs (default 1000; 0: no sweeper). */
  readonly sweepIntervalMs?: number;
  /** See RedisStoreOptions.idleSweepRate (default 100). */
  readonly idleSweepRate?: number;
  /** The sweeper of every shard, shared with other pools (RedisPools); the store never closes it. Default: one of its own. */
  readonly sweeper?: RedisSweeper;
  /** The background sweeper's timers (default: real, unref'd timers). */
  readonly scheduler?: Scheduler;
  readonly waitReplicas?: ReplicaWait;
  /** Overwrite the pool's settings (every shard's) with these instead of refusing (`--redis-update-settings`). */
  readonly updateSettings?: boolean;
}
