import type { Clock } from "../../clock.js";
import type { Random } from "../../random.js";
import type { Scheduler } from "../../scheduler.js";
import type { PoolSettingsMismatch } from "./settings-gate.js";
import type { RedisLink } from "./redis-link.js";
import type { RedisSweeper } from "./redis-sweeper.js";
import type { ReplicaWait } from "./replica-wait.js";
import type { ShardRef } from "./shard-keys.js";

/** Settings of a Redis store. */
export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]`; not needed with `link`. */
  readonly url?: string;
  /** Connections shared with the pool's other shards (cluster, sentinel); the store never closes them. */
  readonly link?: RedisLink;
  /** The shard this store serves (default: the pool's only shard, hash tag `{keypool:<pool>}`). */
  readonly shard?: ShardRef;
  /** Makes each new key (default: a random key); a sharded pool makes only keys of this shard. */
  readonly newKey?: () => string;
  /** Acknowledge a write only once this many replicas have it (`--redis-wait-replicas`). */
  readonly waitReplicas?: ReplicaWait;
  /** Which pool of that Redis (default "default"): a pool name (see POOL_NAME in rules.ts). */
  readonly pool?: string;
  /**
   * A pool served on demand (a named pool of RedisPools): its first check writes no settings, a
   * read of a pool Redis does not hold answers as an empty pool (the first call that adds keys
   * makes it), and a pool with other settings answers FAILED_PRECONDITION (checked again on the
   * next call) instead of being refused for good.
   */
  readonly onDemand?: boolean;
  /** Runs before the first settings check (a sharded pool's layout check); its failure fails the call. */
  readonly beforeCheck?: (() => Promise<void>) | undefined;
  /** The message for a mismatch of settings (default: the mismatch's own, naming fields); e.g. naming flags. */
  readonly describeMismatch?: (mismatch: PoolSettingsMismatch) => string;
  /**
   * The settings this server was started with. A pool without settings gets them; a pool whose
   * settings differ is refused (PoolSettingsMismatch), unless `updateSettings`.
   */
  readonly blockTtlMs: number;
  readonly keepaliveTtlMs: number;
  readonly maxKeys: number;
  /**
   * No renewal carries a block past a lease's acquiredAt + this (default 24 h): a pool setting
   * like the three above, kept in the pool's settings hash.
   */
  readonly maxLeaseMs?: number;
  /** The longest cooldown a release may ask for (default 1 h): a pool setting too. */
  readonly maxCooldownMs?: number;
  /** Overwrite the pool's settings with these instead of refusing (`--redis-update-settings`). */
  readonly updateSettings?: boolean;
  /** Expiry work one request may do before it answers (default 64, as KeyPool). */
  readonly catchUpBudget?: number;
  /** Judges deadlines instead of Redis TIME (tests only: every server must share one clock). */
  readonly clock?: Clock;
  /** Makes keys and lease ids, and draws the pick among free keys (default: systemRandom). */
  readonly random?: Random;
  /** The longest wait for a Redis reply before UNAVAILABLE (default 2000). */
  readonly commandTimeoutMs?: number;
  /** How long `open` waits for Redis before it serves anyway, UNAVAILABLE (default 5000). */
  readonly readyTimeoutMs?: number;
  /**
   * How often the background sweeper visits each shard while few share it, at most (default
   * 1000; see RedisSweeper); 0 turns it off.
   */
  readonly sweepIntervalMs?: number;
  /** The sweeper's idle visits per second at most, over all its shards (default 100; see RedisSweeper). */
  readonly idleSweepRate?: number;
  /** A sweeper shared with other shards and pools (RedisPools); the store never closes it. Default: its own. */
  readonly sweeper?: RedisSweeper;
  /** The background sweeper's timers (default: real, unref'd timers); tests may pass a ManualScheduler. */
  readonly scheduler?: Scheduler;
}
