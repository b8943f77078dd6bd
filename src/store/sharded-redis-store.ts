import { KeyPoolError, assertKey, assertLeaseId } from "../pool/index.js";
import type {
  KeepAliveResult, KeyInfo, LeaseRef, LeaseResult, ListPage, ListQuery, PoolCounters, PoolSettings, PoolStats,
} from "../pool/index.js";
import { TokenSource } from "../pool/token-source.js";
import { systemRandom } from "../random.js";
import type { Random } from "../random.js";
import type { KeyStore, StoreDescription } from "./key-store.js";
import { RedisLink } from "./redis/redis-link.js";
import { checkImport } from "../pool/key-import.js";
import { generateSharded, importSharded, perShard } from "./redis/sharded-adds.js";
import { listSharded } from "./redis/sharded-listing.js";
import type { ShardedRedisStoreOptions } from "./redis/sharded-store-options.js";
import { LayoutGate } from "./redis/layout-gate.js";
import { checkShardLayout } from "./redis/shard-layout.js";
import { shardChannel, shardOf } from "./redis/shard-keys.js";
import { acquireSharded } from "./redis/shard-pick.js";
import { RedisStore } from "./redis-store.js";
import { ownSweeper } from "./redis/redis-sweeper.js";
import type { RedisSweeper } from "./redis/redis-sweeper.js";
import type { PoolSettingsMismatch } from "./redis/settings-gate.js";

/**
 * A pool split into shards, each a RedisStore under its own hash tag `{keypool:<pool>#<i>}`, so
 * a Redis Cluster spreads the shards (and the load) over its masters (see shardTag). A key belongs to the shard
 * `shardOf(key)` forever: GenerateKeys makes only keys of the shard it fills, and every per-key
 * call goes to that shard alone (one script, one round trip). AcquireKey asks the shard that
 * `pickShard` draws by free counts (uniform over the whole pool) and, on NOT_FOUND, the others
 * in proportion: at most one script per shard. GetPoolStats sums the shards: O(shards). Freed-key
 * events of every shard arrive on one subscription, so a waiter is woken by any shard.
 * All shards share two connections (see RedisLink); ioredis follows MOVED/ASK and failovers.
 */
export type { ShardedRedisStoreOptions };

export class ShardedRedisStore implements KeyStore {
  /** The shards, by index. */
  readonly shards: readonly RedisStore[];
  private readonly link: RedisLink;
  private readonly random: Random;
  private readonly tokens: TokenSource;
  private readonly pool: string;
  /** AcquireKey calls answered NOT_FOUND (after every shard was asked). */
  private acquireMisses = 0;
  /** The GenerateKeys or ImportKeys in progress: the next one starts after it. */
  private adding: Promise<unknown> = Promise.resolve();
  /** On demand: the shard layout's checks (see LayoutGate). */
  private readonly layout: LayoutGate | undefined;
  private readonly channels: ReadonlySet<string>;
  /** The one sweeper of all its shards when it made it (no `sweeper` given). */
  private readonly ownSweeper: RedisSweeper | undefined;

  constructor(private readonly options: ShardedRedisStoreOptions) {
    const count = options.shards;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`shards must be a whole number of at least 1 (got ${count})`);
    this.pool = options.pool ?? "default";
    this.random = options.random ?? systemRandom;
    this.tokens = new TokenSource(this.random);
    const refs = Array.from({ length: count }, (_, index) => ({ index, count }));
    const timeoutMs = (options.commandTimeoutMs ?? 2_000) + (options.waitReplicas?.timeoutMs ?? 0);
    this.channels = new Set(refs.map((ref) => shardChannel(this.pool, ref)));
    this.link = options.link ?? new RedisLink(options.endpoint, timeoutMs, { channels: [...this.channels] });
    this.ownSweeper = options.sweeper ? undefined : ownSweeper(options);
    const sweeper = options.sweeper ?? this.ownSweeper;
    const { endpoint: _endpoint, shards: _shards, link: _link, ...shared } = options;
    const layout = options.onDemand ? new LayoutGate((record) => this.checkLayout(record)) : undefined;
    this.layout = layout;
    this.shards = refs.map(
      (shard) =>
        new RedisStore({
          ...shared,
          pool: this.pool,
          link: this.link,
          sweeper,
          shard,
          newKey: () => this.keyOf(shard.index),
          beforeCheck: layout && (() => layout.beforeFirstUse()),
        }),
    );
  }

  /** Resolves once connected and subscribed; rejects UNAVAILABLE after `timeoutMs`. */
  ready(timeoutMs = 5_000): Promise<void> {
    return this.link.ready(timeoutMs);
  }

  /** The pool's settings, kept in Redis with every shard (see RedisStore.settings). O(1), no I/O. */
  get settings(): PoolSettings {
    return this.shards[0]!.settings;
  }

  /** Checks every shard's settings (see RedisStore.checkSettings): O(shards) in parallel. */
  async checkSettings(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.checkSettings()));
  }

  /** Calls `listener` once if a shard turns out to have other settings than this server's. */
  onRefused(listener: (mismatch: PoolSettingsMismatch) => void): () => void {
    let told = false;
    const offs = this.shards.map((s) => s.onRefused((m) => {
      if (!told) listener(m);
      told = true;
    }));
    return () => offs.forEach((off) => off());
  }

  /**
   * Checks that the pool is split into as many shards as this store splits it, recording the
   * count on first use; a mismatch rejects with a RangeError naming both (see checkShardLayout),
   * Redis failing with its own error. Two round trips.
   */
  checkLayout(record = true): Promise<void> {
    const { connection } = this.link;
    return checkShardLayout(connection.client, this.pool, this.options.shards, record, (call) => connection.run(call));
  }

  /**
   * Adds the keys to ONE shard, all or none: the one with the fewest live keys (see
   * generateSharded for --max-keys over the pool). GenerateKeys and ImportKeys calls of this
   * store run one at a time, so one server never overshoots.
   */
  generate(count: number): Promise<KeyInfo[]> {
    return this.oneAtATime(() => this.recorded().then(() => generateSharded(this.shards, count, this.random)));
  }

  /**
   * Adds existing secrets, each to the shard its hash names (see importSharded): all or none
   * within one shard; over several, every shard checks its part before any adds, so a key
   * already held or a full pool adds nothing. Runs one at a time with GenerateKeys. O(k log n).
   */
  async import(keys: readonly string[]): Promise<KeyInfo[]> {
    // Whether a key is already held is the script's to say (ALREADY_EXISTS naming its index).
    checkImport(keys, () => false);
    return this.oneAtATime(() => this.recorded().then(() => importSharded(this.shards, keys)));
  }

  /** A uniformly random free key of the whole pool (see pickShard); at most one script per shard. */
  async acquire(): Promise<KeyInfo> {
    return acquireSharded(this.shards, this.random).catch((err: unknown) => {
      if (err instanceof KeyPoolError && err.code === "not-found") this.acquireMisses++;
      throw err;
    });
  }

  async release(key: string, leaseId?: string, cooldownMs?: number): Promise<KeyInfo> {
    return this.shardFor(key).release(key, leaseId, cooldownMs);
  }

  delete(key: string): Promise<void> {
    return this.shardFor(key).delete(key);
  }

  keepAlive(key: string): Promise<KeyInfo> {
    return this.shardFor(key).keepAlive(key);
  }

  /** Validates every key first, then one batch per shard named, in parallel; answers in order. O(k). */
  async keepAliveMany(keys: readonly string[]): Promise<KeepAliveResult[]> {
    keys.forEach((k, i) => assertKey(k, `keys[${i}]`));
    return perShard(this.shards, keys, (k) => k, (shard, part) => shard.keepAliveMany(part));
  }

  renew(key: string, leaseId: string): Promise<KeyInfo> {
    return this.shardFor(key).renew(key, leaseId);
  }

  /** Validates every lease first, then one batch per shard named, in parallel; answers in order. O(k). */
  async renewMany(leases: readonly LeaseRef[]): Promise<LeaseResult[]> {
    leases.forEach(({ key, leaseId }, i) => {
      assertKey(key, `leases[${i}].key`);
      assertLeaseId(leaseId, `leases[${i}].lease_id`);
    });
    return perShard(this.shards, leases, (l) => l.key, (shard, part) => shard.renewMany(part));
  }

  get(key: string): Promise<KeyInfo> {
    return this.shardFor(key).get(key);
  }

  /** The shards' counts summed, with the pool's settings: one script per shard, in parallel. */
  async stats(): Promise<PoolStats> {
    const all = await Promise.all(this.shards.map((s) => s.stats()));
    const sum = (field: "total" | "free" | "blocked" | "cooling"): number => all.reduce((n, s) => n + s[field], 0);
    return { total: sum("total"), free: sum("free"), blocked: sum("blocked"), cooling: sum("cooling"), ...this.settings };
  }

  /** One page of the pool, shard by shard (see listSharded). O(pageSize · log n + shards). */
  list(query: ListQuery): Promise<ListPage> {
    return listSharded(this.shards, this.pool, query);
  }

  /**
   * What this store's calls did, summed over its shards; acquire misses are this store's own
   * (one per AcquireKey answered NOT_FOUND, however many shards it asked). O(shards).
   */
  counters(): PoolCounters {
    const sum = this.shards[0]!.counters();
    for (const shard of this.shards.slice(1)) {
      const c = shard.counters();
      for (const name of Object.keys(sum) as (keyof PoolCounters)[]) sum[name] += c[name];
    }
    return { ...sum, acquireMisses: this.acquireMisses };
  }

  /** Whether a shard's reply showed the pool in Redis (its settings). O(shards), no I/O. */
  inRedis(): boolean {
    return this.shards.some((s) => s.inRedis());
  }

  /** The pool's free keys as the shards' latest replies said (unknown shards count 0). O(shards). */
  freeCount(): number {
    return this.freeCounts().reduce<number>((n, f) => n + (f ?? 0), 0);
  }

  onKeysFreed(listener: () => void): () => void {
    return this.link.subscription.onEvent((channel) => {
      if (channel === undefined || this.channels.has(channel)) listener();
    });
  }

  /** Whether every shard serves (Redis reachable, settings checked and agreeing). O(shards). */
  isServing(): boolean {
    return this.shards.every((s) => s.isServing());
  }

  onServingChange(listener: (serving: boolean) => void): () => void {
    let last = this.isServing();
    const offs = this.shards.map((s) => s.onServingChange(() => {
      const now = this.isServing();
      if (now !== last) listener((last = now));
    }));
    return () => offs.forEach((off) => off());
  }

  describe(): StoreDescription {
    return {
      store: "redis",
      summary: this.shards.length === 1 ? "serving a pool kept in Redis" : `serving a pool kept in Redis, split into ${this.shards.length} shards`,
      details: { ...this.shards[0]!.describe().details, shards: this.shards.length, redis: this.link.connection.address },
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
    await this.ownSweeper?.close();
    if (!this.options.link) await this.link.close();
  }

  /** Runs `add` after the GenerateKeys or ImportKeys before it, so one server never overshoots --max-keys. */
  private oneAtATime<T>(add: () => Promise<T>): Promise<T> {
    const run = this.adding.then(add);
    this.adding = run.catch(() => {});
    return run;
  }

  /** On demand, records the layout before the first call that adds keys (see LayoutGate). */
  private recorded(): Promise<void> {
    return this.layout?.beforeFirstAdd() ?? Promise.resolve();
  }

  private shardFor(key: string): RedisStore {
    return this.shards[shardOf(key, this.shards.length)]!;
  }

  private freeCounts(): (number | undefined)[] {
    return this.shards.map((s) => s.freeCount());
  }

  /** A fresh key of shard `index`: random keys drawn until one hashes there (shards tries on average). */
  private keyOf(index: number): string {
    for (;;) {
      const key = this.tokens.key();
      if (shardOf(key, this.shards.length) === index) return key;
    }
  }
}
