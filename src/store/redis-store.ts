import type { Clock } from "../clock.js";
import { KeyPoolError, MAX_GENERATE, assertKey, assertLeaseId } from "../pool/index.js";
import type { KeepAliveResult, KeyInfo, PoolCounters, PoolSettings, PoolStats } from "../pool/index.js";
import { TokenSource } from "../pool/token-source.js";
import { systemRandom } from "../random.js";
import type { Random } from "../random.js";
import type { KeyStore, StoreDescription } from "./key-store.js";
import { defineScripts, runScript, scriptSource } from "./redis/commands.js";
import type { ScriptName, ScriptReply } from "./redis/commands.js";
import { RedisLink } from "./redis/redis-link.js";
import { expectReplicated, runAndWait } from "./redis/replica-wait.js";
import type { ReplicaWait } from "./redis/replica-wait.js";
import { shardChannel, shardKeys } from "./redis/shard-keys.js";
import type { ShardRef } from "./redis/shard-keys.js";
import { RedisSweeper, SWEEP_BUDGET } from "./redis/redis-sweeper.js";
import type { SweepStep } from "./redis/redis-sweeper.js";
import { expectOk, toKeyInfo } from "./redis/replies.js";
import { ScriptEventCounts } from "./redis/script-events.js";

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
  /** Which pool of that Redis (default "default"): `[A-Za-z0-9._:-]{1,100}`. */
  readonly pool?: string;
  readonly blockTtlMs: number;
  readonly keepaliveTtlMs: number;
  readonly maxKeys: number;
  /** Judges deadlines instead of Redis TIME (tests only: every server must share one clock). */
  readonly clock?: Clock;
  /** Makes keys and lease ids, and draws the pick among free keys (default: systemRandom). */
  readonly random?: Random;
  /** The longest wait for a Redis reply before UNAVAILABLE (default 2000). */
  readonly commandTimeoutMs?: number;
  /** The longest pause of the background sweeper (default 1000); 0 turns it off. */
  readonly sweepIntervalMs?: number;
}

/** Most keys one keepalive script names, so no script holds Redis for long. */
const KEEPALIVE_CHUNK = 1_000;
/** Fresh attempts when a generated key is already taken (2^-144 odds each). */
const GENERATE_ATTEMPTS = 3;
/** The scripts whose effect a caller is told about: with waitReplicas, acknowledged only once replicated. */
const WRITES: ReadonlySet<ScriptName> = new Set<ScriptName>([
  "keypoolGenerate", "keypoolAcquire", "keypoolRelease", "keypoolDelete", "keypoolKeepAlive", "keypoolKeepAliveMany",
]);

/**
 * A pool kept in Redis and shared by any number of servers. Every method is ONE atomic Lua script
 * (EVALSHA), O(log n) for the keys it names plus a bounded catch-up (O(k log n) for k keys), with
 * deadlines judged by one clock: Redis TIME, or `clock` when given. Keys and lease ids are made
 * here from `random` and validated before any Redis call. A background sweeper reclaims the rest.
 * Redis unreachable: every method fails UNAVAILABLE at once and `isServing()` is false; it serves
 * again by itself when Redis is back.
 *
 * Scripts that free or add keys publish on the pool's channel; every store subscribes on a second
 * connection, so `onKeysFreed` fires for keys freed through any server (see FreedSubscription).
 * `counters()` counts what THIS store's calls and sweeps did, not the pool's totals.
 */
export class RedisStore implements KeyStore {
  /** For now this server's own flags; they become the pool's own once Redis keeps them. */
  readonly settings: PoolSettings;
  /** The pool's Redis keys, in script KEYS order (all under the hash tag `{keypool:<pool>}`). */
  readonly keys: readonly string[];
  private readonly pool: string;
  private readonly link: RedisLink;
  private readonly tokens: TokenSource;
  private readonly random: Random;
  private readonly sweeper: RedisSweeper | undefined;
  private readonly events = new ScriptEventCounts();

  constructor(private readonly options: RedisStoreOptions) {
    const pool = options.pool ?? "default";
    this.settings = { blockTtlMs: options.blockTtlMs, keepaliveTtlMs: options.keepaliveTtlMs, maxKeys: options.maxKeys };
    this.pool = pool;
    this.keys = shardKeys(pool, options.shard);
    this.random = options.random ?? systemRandom;
    this.tokens = new TokenSource(this.random);
    // A reply may take the WAIT's timeout on top of the usual.
    const timeoutMs = (options.commandTimeoutMs ?? 2_000) + (options.waitReplicas?.timeoutMs ?? 0);
    if (!options.link && !options.url) throw new RangeError("a RedisStore needs a url or a link");
    this.link = options.link ?? new RedisLink({ kind: "node", url: options.url! }, timeoutMs, [shardChannel(pool, options.shard)]);
    defineScripts(this.link.connection.client);
    const interval = options.sweepIntervalMs ?? 1_000;
    if (interval > 0) {
      this.sweeper = new RedisSweeper((budget) => this.sweepOnce(budget), interval);
      this.sweeper.start();
    }
  }

  /**
   * Resolves once connected and subscribed to the pool's channel; rejects UNAVAILABLE after
   * `timeoutMs`. Optional: methods fail fast meanwhile, and waiters poll until subscribed.
   */
  async ready(timeoutMs = 5_000): Promise<void> {
    await this.link.ready(timeoutMs);
  }

  /**
   * Adds `count` keys, all or none. `elsewhere`: live keys the pool holds outside this shard (a
   * sharded pool counts its other shards), so `maxKeys` bounds the whole pool.
   */
  async generate(count: number, elsewhere = 0): Promise<KeyInfo[]> {
    const n = count === 0 ? 1 : count;
    if (!Number.isInteger(n) || n < 0 || n > MAX_GENERATE) {
      throw new KeyPoolError("invalid-argument", `count must be between 0 and ${MAX_GENERATE} (got ${count})`);
    }
    for (let attempt = 1; ; attempt++) {
      const keys = this.freshKeys(n);
      const reply = await this.run("keypoolGenerate", [n, this.settings.maxKeys - elsewhere, this.settings.keepaliveTtlMs, ...keys]);
      if (reply[0] === "retry" && attempt < GENERATE_ATTEMPTS) continue;
      const [, createdAt, expiresAt] = expectOk(reply, {
        "resource-exhausted": (r) =>
          `the pool holds ${Number(r[1]) + elsewhere} of at most ${this.settings.maxKeys} keys (--max-keys); ` +
          `${n} more do not fit: delete keys or raise --max-keys`,
      }).map(Number);
      return keys.map((key) => ({ key, state: "free", createdAt: createdAt!, expiresAt: expiresAt! }));
    }
  }

  async acquire(): Promise<KeyInfo> {
    const reply = await this.run("keypoolAcquire", [this.settings.blockTtlMs, this.tokens.leaseId(), this.draw()]);
    const ok = expectOk(reply, {
      "not-found": (r) =>
        Number(r[1]) === 0
          ? "no free key: the pool holds no keys; generate keys first"
          : `no free key: all ${r[1]} keys are blocked; release keys or generate more`,
    });
    return toKeyInfo(ok);
  }

  async release(key: string, leaseId?: string): Promise<KeyInfo> {
    if (leaseId) assertLeaseId(leaseId);
    assertKey(key);
    return toKeyInfo(expectOk(await this.run("keypoolRelease", [key, leaseId ?? ""])));
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    expectOk(await this.run("keypoolDelete", [key]));
  }

  async keepAlive(key: string): Promise<KeyInfo> {
    assertKey(key);
    return toKeyInfo(expectOk(await this.run("keypoolKeepAlive", [this.settings.keepaliveTtlMs, key])));
  }

  async keepAliveMany(keys: readonly string[]): Promise<KeepAliveResult[]> {
    keys.forEach((k, i) => assertKey(k, `keys[${i}]`));
    const out: KeepAliveResult[] = [];
    for (let from = 0; from < keys.length; from += KEEPALIVE_CHUNK) {
      const chunk = keys.slice(from, from + KEEPALIVE_CHUNK);
      const lives = expectOk(await this.run("keypoolKeepAliveMany", [this.settings.keepaliveTtlMs, ...chunk]));
      chunk.forEach((key, i) => {
        const expiresAt = Number(lives[i + 1]);
        out.push(expiresAt > 0 ? { key, found: true, expiresAt } : { key, found: false });
      });
    }
    return out;
  }

  async get(key: string): Promise<KeyInfo> {
    assertKey(key);
    return toKeyInfo(expectOk(await this.run("keypoolGet", [key])));
  }

  async stats(): Promise<PoolStats> {
    const [, total, blocked] = expectOk(await this.run("keypoolStats", [])).map(Number);
    return { total: total!, free: total! - blocked!, blocked: blocked!, ...this.settings };
  }

  /**
   * One bounded step of expiry work (at most `budget` dead keys reclaimed or ended blocks
   * settled), as the background sweeper runs it. O(budget · log n).
   */
  async sweepOnce(budget = SWEEP_BUDGET): Promise<SweepStep> {
    const [, work, now, next] = expectOk(await this.run("keypoolSweep", [budget])).map(Number);
    return { work: work!, now: now!, next: next! };
  }

  describe(): StoreDescription {
    return { store: "redis", summary: "serving a pool kept in Redis", details: { pool: this.pool } };
  }

  isServing(): boolean {
    return this.link.connection.isServing();
  }

  onServingChange(listener: (serving: boolean) => void): () => void {
    return this.link.connection.onServingChange(listener);
  }

  /**
   * Calls `listener` when keys may have become free anywhere in the pool (generated, released or
   * released automatically through any server sharing it), and once after each reconnection.
   * Delivery is best effort (Redis pub/sub): a waiter that misses an event finds the key at its
   * next poll. O(1).
   */
  onKeysFreed(listener: () => void): () => void {
    return this.link.subscription.onEvent(listener);
  }

  /**
   * What this store's own calls and background sweeps did since it opened: generated, acquired,
   * released and deleted through it, acquire misses it answered, and the automatic releases and
   * expired keys its scripts happened to settle. Other servers on the pool count theirs; the
   * pool-wide figure is the sum over servers. O(1).
   */
  counters(): PoolCounters {
    return this.events.snapshot();
  }

  /**
   * The pool's free keys as of this store's latest script reply (every script reports it), or
   * undefined before the first. Other servers change it meanwhile: a hint, e.g. for weighing
   * shards by their free keys, never a promise. O(1), no I/O.
   */
  freeCount(): number | undefined {
    return this.events.freeCount;
  }

  async close(): Promise<void> {
    this.sweeper?.close();
    if (!this.options.link) await this.link.close();
  }

  /** Runs one script with now (or '' for Redis TIME) first and counts its events. One round trip. */
  private async run(name: ScriptName, args: readonly (string | number)[]): Promise<ScriptReply> {
    const now = this.options.clock ? String(this.options.clock.now()) : "";
    const { client } = this.link.connection;
    const wait = WRITES.has(name) ? this.options.waitReplicas : undefined;
    if (!wait) return this.events.take(await this.link.connection.run(() => runScript(client, name, this.keys, [now, ...args])));
    const { raw, acks } = await this.link.connection.run(() => runAndWait(client, scriptSource(name), this.keys, [now, ...args], wait));
    const reply = this.events.take(raw);
    expectReplicated(String(reply[0]), acks, wait, this.link.connection.address);
    return reply;
  }

  /** A uniformly random integer in [0, 2^53), as decimal text, for the script's pick. O(1). */
  private draw(): string {
    return String(this.random.int(2 ** 26) * 2 ** 27 + this.random.int(2 ** 27));
  }

  /** `n` distinct new keys. O(n). */
  private freshKeys(n: number): string[] {
    const keys = new Set<string>();
    while (keys.size < n) keys.add(this.options.newKey?.() ?? this.tokens.key());
    return [...keys];
  }
}
