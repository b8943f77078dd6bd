import {
  DEFAULT_CATCH_UP_BUDGET, DEFAULT_MAX_COOLDOWN_MS, DEFAULT_MAX_LEASE_MS, assertKey, assertPoolSettings, assertLeaseId, keysToGenerate, messages, refusalError,
} from "../pool/index.js";
import type { KeepAliveResult, KeyInfo, LeaseRef, LeaseResult, PoolCounters, PoolSettings, PoolStats } from "../pool/index.js";
import { TokenSource } from "../pool/token-source.js";
import { systemRandom } from "../random.js";
import type { Random } from "../random.js";
import type { RedisStoreOptions } from "./redis/store-options.js";
import type { KeyStore, StoreDescription } from "./key-store.js";
import { defineScripts } from "./redis/commands.js";
import type { ScriptName, ScriptReply } from "./redis/commands.js";
import { RedisLink } from "./redis/redis-link.js";
import type { RedisPoolSettings } from "./redis/pool-keys.js";
import { shardChannel, shardKeys } from "./redis/shard-keys.js";
import { RedisSweeper, SWEEP_BUDGET } from "./redis/redis-sweeper.js";
import type { SweepStep } from "./redis/redis-sweeper.js";
import { expectOk, renewRefusal, toKeyInfo } from "./redis/replies.js";
import type { ReplyTail } from "./redis/script-events.js";
import { ScriptRunner } from "./redis/script-runner.js";
import { PoolSettingsMismatch, SettingsGate } from "./redis/settings-gate.js";

export type { RedisStoreOptions };

/** Most keys one keepalive script names, so no script holds Redis for long. */
const KEEPALIVE_CHUNK = 1_000;
/** Fresh attempts when a generated key is already taken (2^-144 odds each). */
const GENERATE_ATTEMPTS = 3;
/**
 * A pool kept in Redis and shared by any number of servers. Every method is ONE atomic Lua script
 * (EVALSHA), O(log n) for the keys it names plus a bounded catch-up (O(k log n) for k keys), with
 * deadlines judged by one clock: Redis TIME, or `clock` when given. Keys and lease ids are made
 * here from `random` and validated before any Redis call. A background sweeper reclaims the rest.
 * Redis unreachable: every method fails UNAVAILABLE at once and `isServing()` is false; it serves
 * again by itself when Redis is back.
 *
 * The pool's settings live in Redis with the pool (its `settings` hash): every script reads its
 * TTLs and capacity from there, never from this process. Before its first call a store checks
 * them against its own (see SettingsGate): a pool without settings gets this store's, a pool
 * with others is refused, so servers of one pool cannot apply different rules. Open with
 * `RedisStore.open`, which waits for that check.
 *
 * Scripts that free or add keys publish on the pool's channel; every store subscribes on a second
 * connection, so `onKeysFreed` fires for keys freed through any server (see FreedSubscription).
 * `counters()` counts what THIS store's calls and sweeps did, not the pool's totals.
 */
export class RedisStore implements KeyStore {
  /** The pool's Redis keys, in script KEYS order (all under the hash tag `{keypool:<pool>}`). */
  readonly keys: readonly string[];
  private readonly pool: string;
  private readonly link: RedisLink;
  private readonly tokens: TokenSource;
  private readonly random: Random;
  private readonly sweeper: RedisSweeper | undefined;
  private readonly runner: ScriptRunner;
  private readonly events: ReplyTail;
  private readonly wanted: RedisPoolSettings;
  private readonly gate: SettingsGate;

  /**
   * Opens a store on `options.pool`: waits up to `readyTimeoutMs` (default 5000) for Redis, then
   * checks the pool's settings and rejects with PoolSettingsMismatch when they differ. With Redis
   * unreachable it resolves anyway: the store answers UNAVAILABLE and checks the settings once
   * Redis answers; if they differ then, `onRefused` listeners hear of it and it never serves.
   */
  static async open(options: RedisStoreOptions): Promise<RedisStore> {
    const store = new RedisStore(options);
    try {
      await store.ready(options.readyTimeoutMs ?? 5_000);
      await store.checkSettings();
    } catch (err) {
      if (err instanceof PoolSettingsMismatch) {
        await store.close();
        throw err;
      }
      // Redis unreachable or slow: serve UNAVAILABLE; the gate checks on the next connection or call.
    }
    return store;
  }

  /**
   * A store that checks the pool's settings on its first connection or call (prefer `open`).
   * Throws RangeError for settings or a budget KeyPool would refuse.
   */
  constructor(private readonly options: RedisStoreOptions) {
    const pool = options.pool ?? "default";
    const { blockTtlMs, keepaliveTtlMs, maxKeys } = options;
    this.wanted = { blockTtlMs, keepaliveTtlMs, maxKeys, maxLeaseMs: options.maxLeaseMs ?? DEFAULT_MAX_LEASE_MS };
    const budget = options.catchUpBudget ?? DEFAULT_CATCH_UP_BUDGET;
    assertPoolSettings({ ...this.wanted, catchUpBudget: budget });
    this.pool = pool;
    this.keys = shardKeys(pool, options.shard);
    this.random = options.random ?? systemRandom;
    this.tokens = new TokenSource(this.random);
    // A reply may take the WAIT's timeout on top of the usual.
    const timeoutMs = (options.commandTimeoutMs ?? 2_000) + (options.waitReplicas?.timeoutMs ?? 0);
    if (!options.link && !options.url) throw new RangeError("a RedisStore needs a url or a link");
    this.link = options.link ?? new RedisLink({ kind: "node", url: options.url! }, timeoutMs, [shardChannel(pool, options.shard)]);
    defineScripts(this.link.connection.client);
    const { clock, waitReplicas, updateSettings } = options;
    this.runner = new ScriptRunner(this.link.connection, { keys: this.keys, clock, budget, waitReplicas });
    this.events = this.runner.tail;
    this.gate = new SettingsGate(this.link.connection, this.runner, { pool, settings: this.wanted, update: updateSettings === true });
    const interval = options.sweepIntervalMs ?? 1_000;
    if (interval > 0) {
      this.sweeper = new RedisSweeper((budget) => this.sweepOnce(budget), interval, options.scheduler);
      this.sweeper.start();
      this.gate.onRefused(() => this.sweeper?.close());
    }
  }

  /**
   * The pool's settings: this store's own until it has read the pool's, then the pool's as of
   * the latest reply (every script reports them, so a change made with `updateSettings` through
   * another server shows here on this store's next call). O(1), no I/O.
   */
  get settings(): PoolSettings {
    const { blockTtlMs, keepaliveTtlMs, maxKeys } = this.events.settings ?? this.wanted;
    // Cooldowns are not in the settings hash yet (issue 13, Redis side): the default until they are.
    return { blockTtlMs, keepaliveTtlMs, maxKeys, maxCooldownMs: DEFAULT_MAX_COOLDOWN_MS };
  }

  /**
   * Checks the pool's settings now (or joins the check under way): resolves once they agree or
   * were written, rejects with PoolSettingsMismatch when they differ, UNAVAILABLE when Redis
   * cannot answer. O(1) round trips; at once when already checked.
   */
  async checkSettings(): Promise<void> {
    await this.gate.enter().catch((err: unknown) => {
      throw this.gate.refusal() ?? err;
    });
  }

  /** Calls `listener` once if the pool turns out to have other settings (found after a late connection). */
  onRefused(listener: (mismatch: PoolSettingsMismatch) => void): () => void {
    return this.gate.onRefused(listener);
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
    const n = keysToGenerate(count);
    for (let attempt = 1; ; attempt++) {
      const keys = this.freshKeys(n);
      const reply = await this.run("keypoolGenerate", [n, elsewhere, ...keys]);
      if (reply[0] === "retry" && attempt < GENERATE_ATTEMPTS) continue;
      const [, createdAt, expiresAt] = expectOk(reply, {
        "resource-exhausted": (r) => messages.poolFull(Number(r[1]) + elsewhere, Number(r[2]), n),
      }).map(Number);
      return keys.map((key) => ({ key, state: "free", createdAt: createdAt!, expiresAt: expiresAt!, fencingToken: 0 }));
    }
  }

  async acquire(): Promise<KeyInfo> {
    const reply = await this.run("keypoolAcquire", [this.tokens.leaseId(), this.draw()]);
    const ok = expectOk(reply, {
      "not-found": (r) => messages.noFreeKey(Number(r[1])),
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
    return toKeyInfo(expectOk(await this.run("keypoolKeepAlive", [key])));
  }

  async renew(key: string, leaseId: string): Promise<KeyInfo> {
    assertKey(key);
    assertLeaseId(leaseId);
    const reply = await this.run("keypoolRenew", [key, leaseId]);
    if (reply[0] === "not-found" || reply[0] === "failed-precondition") throw refusalError(renewRefusal(String(reply[1]), this.maxLeaseMs));
    return toKeyInfo(expectOk(reply));
  }

  /** Validates every lease, then one script per 1,000 leases. O(k log n). */
  async renewMany(leases: readonly LeaseRef[]): Promise<LeaseResult[]> {
    leases.forEach(({ key, leaseId }, i) => {
      assertKey(key, `leases[${i}].key`);
      assertLeaseId(leaseId, `leases[${i}].lease_id`);
    });
    const out: LeaseResult[] = [];
    for (let from = 0; from < leases.length; from += KEEPALIVE_CHUNK) {
      const chunk = leases.slice(from, from + KEEPALIVE_CHUNK);
      const reply = expectOk(await this.run("keypoolRenewMany", chunk.flatMap((l) => [l.key, l.leaseId])));
      chunk.forEach(({ key, leaseId }, i) => {
        const outcome = String(reply[1 + 3 * i]);
        out.push(outcome === "ok"
          ? { key, leaseId, renewed: true, blockedUntil: Number(reply[2 + 3 * i]), expiresAt: Number(reply[3 + 3 * i]) }
          : { key, leaseId, renewed: false, reason: renewRefusal(outcome, this.maxLeaseMs).reason });
      });
    }
    return out;
  }

  /** The pool's max lease, as of the latest reply (see settings). */
  private get maxLeaseMs(): number {
    return (this.events.settings ?? this.wanted).maxLeaseMs;
  }

  async keepAliveMany(keys: readonly string[]): Promise<KeepAliveResult[]> {
    keys.forEach((k, i) => assertKey(k, `keys[${i}]`));
    const out: KeepAliveResult[] = [];
    for (let from = 0; from < keys.length; from += KEEPALIVE_CHUNK) {
      const chunk = keys.slice(from, from + KEEPALIVE_CHUNK);
      const lives = expectOk(await this.run("keypoolKeepAliveMany", chunk));
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
    // No Redis script cools a key yet (issue 13, Redis side), so none is cooling.
    return { total: total!, free: total! - blocked!, blocked: blocked!, cooling: 0, ...this.settings };
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
    const settings = this.gate.outcome ?? "not checked yet: Redis was not reachable at start";
    return { store: "redis", summary: "serving a pool kept in Redis", details: { pool: this.pool, settings } };
  }

  /** Whether Redis is reachable and the pool's settings were checked and agree. O(1). */
  isServing(): boolean {
    return this.gate.isServing();
  }

  onServingChange(listener: (serving: boolean) => void): () => void {
    return this.gate.onServingChange(listener);
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
    this.gate.close();
    if (!this.options.link) await this.link.close();
  }

  /**
   * Runs one script once the settings were checked. A pool that lost its settings (its Redis
   * restarted empty, say) gets them back from this store (the pool's as it last saw them) and
   * the script runs again: it changed nothing the first time. One round trip (three then).
   */
  private async run(name: ScriptName, args: readonly (string | number)[]): Promise<ScriptReply> {
    await this.gate.enter();
    const reply = await this.runner.run(name, args);
    if (reply[0] !== "no-settings") return reply;
    await this.gate.restore(this.events.settings ?? this.wanted);
    return this.runner.run(name, args);
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
