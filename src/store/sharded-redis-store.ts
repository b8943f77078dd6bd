import type { Clock } from "../clock.js";
import { KeyPoolError, assertKey, assertLeaseId } from "../pool/index.js";
import type { KeepAliveResult, KeyInfo, LeaseRef, LeaseResult, PoolCounters, PoolSettings, PoolStats } from "../pool/index.js";
import { TokenSource } from "../pool/token-source.js";
import { systemRandom } from "../random.js";
import type { Random } from "../random.js";
import type { Scheduler } from "../scheduler.js";
import type { KeyStore, StoreDescription } from "./key-store.js";
import type { RedisEndpoint } from "./redis/endpoint.js";
import { RedisLink } from "./redis/redis-link.js";
import type { ReplicaWait } from "./redis/replica-wait.js";
import { checkShardLayout } from "./redis/shard-layout.js";
import { shardChannel, shardOf } from "./redis/shard-keys.js";
import { pickShard } from "./redis/shard-pick.js";
import { RedisStore } from "./redis-store.js";
import type { PoolSettingsMismatch } from "./redis/settings-gate.js";

/** Settings of a sharded Redis store. */
export interface ShardedRedisStoreOptions {
  /** A Redis Cluster (shards spread over its masters), or one node / sentinels (one core). */
  readonly endpoint: RedisEndpoint;
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
  readonly clock?: Clock;
  readonly random?: Random;
  readonly commandTimeoutMs?: number;
  readonly sweepIntervalMs?: number;
  /** The background sweepers' timers (default: real, unref'd timers). */
  readonly scheduler?: Scheduler;
  readonly waitReplicas?: ReplicaWait;
  /** Overwrite the pool's settings (every shard's) with these instead of refusing (`--redis-update-settings`). */
  readonly updateSettings?: boolean;
}

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
export class ShardedRedisStore implements KeyStore {
  /** The shards, by index. */
  readonly shards: readonly RedisStore[];
  private readonly link: RedisLink;
  private readonly random: Random;
  private readonly tokens: TokenSource;
  private readonly pool: string;
  /** AcquireKey calls answered NOT_FOUND (after every shard was asked). */
  private acquireMisses = 0;
  /** The GenerateKeys in progress: the next one starts after it. */
  private generating: Promise<unknown> = Promise.resolve();

  constructor(options: ShardedRedisStoreOptions) {
    const count = options.shards;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`shards must be a whole number of at least 1 (got ${count})`);
    this.pool = options.pool ?? "default";
    this.random = options.random ?? systemRandom;
    this.tokens = new TokenSource(this.random);
    const refs = Array.from({ length: count }, (_, index) => ({ index, count }));
    const timeoutMs = (options.commandTimeoutMs ?? 2_000) + (options.waitReplicas?.timeoutMs ?? 0);
    this.link = new RedisLink(options.endpoint, timeoutMs, refs.map((ref) => shardChannel(this.pool, ref)));
    const { endpoint: _endpoint, shards: _shards, ...shared } = options;
    this.shards = refs.map(
      (shard) =>
        new RedisStore({
          ...shared,
          pool: this.pool,
          link: this.link,
          shard,
          newKey: () => this.keyOf(shard.index),
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
  checkLayout(): Promise<void> {
    return checkShardLayout(this.link.connection.client, this.pool, this.shards.length);
  }

  /**
   * Adds the keys to ONE shard, all or none: the one with the fewest live keys. `--max-keys`
   * bounds the whole pool: every shard's live count is read first (O(shards), in parallel, as
   * GetPoolStats) and the shard's script admits the keys only if the pool stays within it.
   * GenerateKeys calls of this store run one at a time, so one server never overshoots; two
   * servers generating into different shards at the same instant can each pass the check
   * (the limit guards Redis memory; no lease rule depends on it).
   */
  generate(count: number): Promise<KeyInfo[]> {
    const run = this.generating.then(() => this.generateNow(count));
    this.generating = run.catch(() => {});
    return run;
  }

  /** A uniformly random free key of the whole pool (see pickShard); at most one script per shard. */
  async acquire(): Promise<KeyInfo> {
    const tried = new Set<number>();
    while (tried.size < this.shards.length) {
      const i = pickShard(this.freeCounts(), tried, this.random);
      tried.add(i);
      try {
        return await this.shards[i]!.acquire();
      } catch (err) {
        if (!(err instanceof KeyPoolError && err.code === "not-found")) throw err;
      }
    }
    this.acquireMisses++;
    throw new KeyPoolError(
      "not-found",
      `no free key in any of the pool's ${this.shards.length} shards: all keys are blocked or the pool is empty; release keys or generate more`,
    );
  }

  release(key: string, leaseId?: string): Promise<KeyInfo> {
    return this.shardFor(key).release(key, leaseId);
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
    return this.perShard(keys, (k) => k, (shard, part) => shard.keepAliveMany(part));
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
    return this.perShard(leases, (l) => l.key, (shard, part) => shard.renewMany(part));
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

  /** The pool's free keys as the shards' latest replies said (unknown shards count 0). O(shards). */
  freeCount(): number {
    return this.freeCounts().reduce<number>((n, f) => n + (f ?? 0), 0);
  }

  onKeysFreed(listener: () => void): () => void {
    return this.link.subscription.onEvent(listener);
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
    await this.link.close();
  }

  private async generateNow(count: number): Promise<KeyInfo[]> {
    if (this.shards.length === 1) return this.shards[0]!.generate(count);
    const live = (await Promise.all(this.shards.map((s) => s.stats()))).map((s) => s.total);
    const least = Math.min(...live);
    const candidates = live.flatMap((n, i) => (n === least ? [i] : []));
    const target = candidates[this.random.int(candidates.length)]!;
    const elsewhere = live.reduce((sum, n, i) => (i === target ? sum : sum + n), 0);
    return this.shards[target]!.generate(count, elsewhere);
  }

  /** Runs `run` once per shard named by `items` (in parallel) and puts the results back in order. O(k). */
  private async perShard<I, R>(items: readonly I[], keyOf: (item: I) => string, run: (shard: RedisStore, part: I[]) => Promise<R[]>): Promise<R[]> {
    const byShard = this.shards.map(() => [] as number[]);
    items.forEach((item, i) => byShard[shardOf(keyOf(item), this.shards.length)]!.push(i));
    const out: R[] = new Array(items.length);
    await Promise.all(
      byShard.map(async (at, s) => {
        if (at.length === 0) return;
        const results = await run(this.shards[s]!, at.map((i) => items[i]!));
        results.forEach((r, j) => (out[at[j]!] = r));
      }),
    );
    return out;
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
