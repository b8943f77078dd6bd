import { DEFAULT_CATCH_UP_BUDGET, DEFAULT_MAX_COOLDOWN_MS, DEFAULT_MAX_LEASE_MS, assertPoolSettings } from "../../pool/index.js";
import type { PoolCounters, PoolSettings } from "../../pool/index.js";
import type { StoreDescription } from "../key-store.js";
import { defineScripts } from "./commands.js";
import type { ScriptName, ScriptReply } from "./commands.js";
import type { RedisPoolSettings } from "./pool-keys.js";
import { RedisLink } from "./redis-link.js";
import { SWEEP_BUDGET, ownSweeper } from "./redis-sweeper.js";
import type { RedisSweeper, SweepStep } from "./redis-sweeper.js";
import { expectOk } from "./replies.js";
import type { ReplyTail } from "./script-events.js";
import type { PoolSettingsMismatch, SettingsGate } from "./settings-gate.js";
import { ShardScripts } from "./shard-scripts.js";
import { shardChannel, shardKeys } from "./shard-keys.js";
import type { RedisStoreOptions } from "./store-options.js";

/**
 * How far from now a script of this store may put a deadline of the shard: a new life
 * (generate, import), a block (acquire), a cooldown (release with one); undefined for the rest.
 * Renewals and keepalives only move deadlines later, which leaves the sweeper's known one early
 * (one empty visit re-learns it); reads make none, so e.g. a metrics scrape costs no sweeps.
 */
function deadlineMade(name: ScriptName, args: readonly (string | number)[], settings: RedisPoolSettings): number | undefined {
  if (name === "keypoolGenerate" || name === "keypoolImport") return settings.keepaliveTtlMs;
  if (name === "keypoolAcquire") return settings.blockTtlMs;
  if (name === "keypoolRelease" && Number(args[2]) > 0) return Number(args[2]);
  return undefined;
}

/**
 * What every Redis store of one shard shares apart from its key operations (see RedisStore):
 * the connections (its own, or a RedisLink shared with other shards and pools), the scripts
 * behind the settings gate (see ShardScripts), the background sweeper, serving state, freed-keys
 * events of its channel, and the counts its replies carried. Every member O(1) unless it says
 * otherwise.
 */
export class RedisShard {
  /** The pool's Redis keys, in script KEYS order (all under the hash tag `{keypool:<pool>}`). */
  readonly keys: readonly string[];
  protected readonly pool: string;
  protected readonly link: RedisLink;
  protected readonly gate: SettingsGate;
  /** Its sweeper: shared with the pool's other shards and pools, or its own (`ownsSweeper`). */
  private readonly sweeper: RedisSweeper | undefined;
  private readonly ownsSweeper: boolean;
  /** Its id in `sweeper`. */
  private readonly sweepId: number = -1;
  private readonly scripts: ShardScripts;
  private readonly events: ReplyTail;
  private readonly wanted: RedisPoolSettings;
  private readonly channel: string;

  /**
   * A shard that checks the pool's settings on its first connection or call.
   * Throws RangeError for settings or a budget KeyPool would refuse.
   */
  constructor(protected readonly options: RedisStoreOptions) {
    const pool = options.pool ?? "default";
    const { blockTtlMs, keepaliveTtlMs, maxKeys } = options;
    const maxLeaseMs = options.maxLeaseMs ?? DEFAULT_MAX_LEASE_MS;
    this.wanted = { blockTtlMs, keepaliveTtlMs, maxKeys, maxLeaseMs, maxCooldownMs: options.maxCooldownMs ?? DEFAULT_MAX_COOLDOWN_MS };
    const budget = options.catchUpBudget ?? DEFAULT_CATCH_UP_BUDGET;
    assertPoolSettings({ ...this.wanted, catchUpBudget: budget });
    this.pool = pool;
    this.keys = shardKeys(pool, options.shard);
    this.channel = shardChannel(pool, options.shard);
    // A reply may take the WAIT's timeout on top of the usual.
    const timeoutMs = (options.commandTimeoutMs ?? 2_000) + (options.waitReplicas?.timeoutMs ?? 0);
    if (!options.link && !options.url) throw new RangeError("a RedisStore needs a url or a link");
    this.link = options.link ?? new RedisLink({ kind: "node", url: options.url! }, timeoutMs, { channels: [this.channel] });
    defineScripts(this.link.connection.client);
    const { clock, waitReplicas, describeMismatch, beforeCheck } = options;
    this.scripts = new ShardScripts(this.link.connection, {
      keys: this.keys, clock, budget, waitReplicas, pool, settings: this.wanted, update: options.updateSettings === true,
      onDemand: options.onDemand === true, describeMismatch, beforeCheck,
    });
    this.events = this.scripts.tail;
    this.gate = this.scripts.gate;
    this.ownsSweeper = options.sweeper === undefined;
    this.sweeper = options.sweeper ?? ownSweeper(options);
    if (this.sweeper) {
      const sweeper = this.sweeper;
      const id = sweeper.add((budget) => this.sweepOnce(budget));
      this.sweepId = id;
      this.gate.onRefused(() => sweeper.remove(id));
    }
  }

  /** Whether a reply showed the pool's settings, i.e. that Redis holds the pool (as of the latest reply). O(1). */
  inRedis(): boolean {
    return this.events.settings !== undefined;
  }

  /**
   * The pool's settings: this store's own until it has read the pool's, then the pool's as of
   * the latest reply (every script reports them, so a change made with `updateSettings` through
   * another server shows here on this store's next call). O(1), no I/O.
   */
  get settings(): PoolSettings {
    const { blockTtlMs, keepaliveTtlMs, maxKeys, maxCooldownMs } = this.poolSettings;
    return { blockTtlMs, keepaliveTtlMs, maxKeys, maxCooldownMs };
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
   * One bounded step of expiry work (at most `budget` dead keys reclaimed, ended blocks or
   * cooldowns settled), as the background sweeper runs it. O(budget · log n).
   */
  async sweepOnce(budget = SWEEP_BUDGET): Promise<SweepStep> {
    const [, work, now, next] = expectOk(await this.scripts.run("keypoolSweep", [budget])).map(Number);
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
   * Calls `listener` when keys may have become free anywhere in the pool (generated, imported,
   * released, a block or cooldown ended, through any server sharing it), and once after each
   * reconnection. Best effort (Redis pub/sub): a waiter that misses an event finds the key at its
   * next poll. O(1).
   */
  onKeysFreed(listener: () => void): () => void {
    return this.link.subscription.onEvent((channel) => {
      if (channel === undefined || channel === this.channel) listener();
    });
  }

  /**
   * What this store's own calls and background sweeps did since it opened: generated (imported
   * keys count as generated), acquired, released and deleted through it, acquire misses it
   * answered, and the automatic releases and expired keys its scripts happened to settle. Other
   * servers on the pool count theirs; the pool-wide figure is the sum over servers. O(1).
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
    this.sweeper?.remove(this.sweepId);
    if (this.ownsSweeper) await this.sweeper?.close();
    this.gate.close();
    if (!this.options.link) await this.link.close();
  }

  /** The pool's settings as of the latest reply, this store's own before the first. */
  protected get poolSettings(): RedisPoolSettings {
    return this.scripts.settings;
  }

  /**
   * Runs one script through the settings gate (see ShardScripts); one that makes a deadline tells
   * the sweeper when (see deadlineMade). One round trip.
   */
  protected run(name: ScriptName, args: readonly (string | number)[]): Promise<ScriptReply> {
    const delay = this.sweeper && deadlineMade(name, args, this.poolSettings);
    if (delay !== undefined) this.sweeper!.report(this.sweepId, delay);
    return this.scripts.run(name, args);
  }
}
