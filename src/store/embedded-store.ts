import { KeyPool, KeyPoolError, assertKey, refusalError } from "../pool/index.js";
import type {
  KeepAliveResult, KeyInfo, LeaseRef, LeaseResult, ListPage, ListQuery, PoolCounters, PoolOptions, PoolSettings, PoolStats,
} from "../pool/index.js";
import type { Random } from "../random.js";
import type { Scheduler } from "../scheduler.js";
import { DurableLog } from "./durable/durable-log.js";
import type { KeyStore, StoreDescription } from "./key-store.js";
import type { PoolLog } from "./pool-log.js";
import type { PoolSweeps } from "./pool-sweeps.js";
import { Signal } from "./signal.js";
import { Sweeper } from "./sweeper.js";

export { DataDirError } from "./durable/data-dir.js";

/** Units of expiry work `stats` does per event-loop turn while dead keys remain. */
const STATS_SLICE = 512;
export type { RecoveryReport } from "./durable/recovery.js";

/** What the pools of one `EmbeddedPools` share: one sweeper over all of them, one log. */
export interface SharedParts {
  readonly sweeper: Sweeper;
  readonly sweeps: PoolSweeps;
  /** The pool's part of the log's record keys ("" = the default pool; see recordKey). */
  readonly logPart: string;
  /** The pool's name in its set. */
  readonly name: string;
  /** Tells the set that keys of pool `name` may be free (one function for all pools: no signal or closure per pool). */
  readonly announceFreed: (name: string) => void;
  /** Subscribes to the set's notices of this pool's freed keys (`onKeysFreed` of the store). */
  readonly onKeysFreed: (listener: () => void) => () => void;
}

/** Settings of an embedded store. */
export interface EmbeddedStoreOptions extends PoolOptions {
  /** Time and timers: every deadline, the sweeper and the durable upkeep follow it. */
  readonly scheduler: Scheduler;
  /** Makes keys and lease ids, and picks among free keys. */
  readonly random: Random;
  /** Keep the pool in this data dir (`--data-dir`, created if missing); absent: memory only. */
  readonly dataDir?: string | undefined;
}

/**
 * The embedded store: one `KeyPool` in this process, swept in the background, with an optional
 * durable journal (a data dir). Every method is O(1) in the pool's size (O(k) for k keys named).
 *
 * - In memory (no data dir): no I/O at all; the pool is gone when the process ends.
 * - Durable: every change is queued to the data dir and on disk before its promise resolves,
 *   and every answer, reads too, waits for the writes queued before it, so nobody sees a state a
 *   crash could undo; a restart, even after `kill -9`, loses nothing acknowledged. After a fault
 *   (failed write, lost dir) the store stops serving (UNAVAILABLE) until restarted.
 *
 * Waiters hear of freed keys (`onKeysFreed`) only once the change is durable.
 */
export class EmbeddedStore implements KeyStore {
  readonly settings: PoolSettings;
  /** The data dir behind the pool, when durable (recovery report, upkeep by hand in tests). */
  readonly dataDir: DurableLog | undefined;
  /** The background reclaimer (tests run slices by hand). */
  readonly sweeper: Sweeper;
  private readonly scheduler: Scheduler;
  private readonly log: PoolLog | undefined;
  /** Subscribers of a lone store's freed keys (a pooled store's go to its set). */
  private readonly freed = new Signal();
  /** Says keys of pool `poolName` may be free: the lone store's signal, or the set's notice. */
  private readonly notifyFreed: (name: string) => void;
  private readonly poolName: string;
  private readonly subscribeFreed: (listener: () => void) => () => void;
  private readonly servingChanged = new Signal<[serving: boolean]>();
  private closing: Promise<void> | undefined;
  /** The set's sweep heap and this pool's entry in it, when shared. */
  private readonly sweeps: PoolSweeps | undefined;
  private readonly sweepId: number = -1;
  /** Whether this store owns its sweeper and log (a lone store) or shares its set's. */
  private readonly owns: boolean;

  private constructor(
    options: EmbeddedStoreOptions,
    /** The pool itself, for in-process use (tests, benchmarks). */
    readonly pool: KeyPool,
    durable: DurableLog | undefined,
    shared?: SharedParts,
  ) {
    const { blockTtlMs, keepaliveTtlMs, maxKeys } = options;
    this.settings = { blockTtlMs, keepaliveTtlMs, maxKeys, maxCooldownMs: pool.maxCooldownMs };
    this.scheduler = options.scheduler;
    this.dataDir = durable;
    this.owns = shared === undefined;
    if (shared) {
      this.log = durable?.view(shared.logPart);
      this.notifyFreed = shared.announceFreed;
      this.poolName = shared.name;
      this.subscribeFreed = shared.onKeysFreed;
      this.sweeps = shared.sweeps;
      this.sweepId = shared.sweeps.add(pool, () => this.announceFreed());
      this.sweeper = shared.sweeper;
    } else {
      this.log = durable;
      this.notifyFreed = () => this.freed.emit();
      this.poolName = "";
      this.subscribeFreed = (listener) => this.freed.subscribe(listener);
      this.sweeps = undefined;
      this.sweeper = new Sweeper(pool, this.scheduler, () => this.announceFreed());
    }
    this.pokeSweeper();
    this.log?.onFailure(() => this.servingChanged.emit(false));
  }

  /**
   * One pool of an `EmbeddedPools`: its sweeper and durable log (`durable`, records under pool
   * part `logPart`) are the set's, shared by every pool; closing the store closes neither. O(1).
   */
  static pooled(options: EmbeddedStoreOptions, pool: KeyPool, durable: DurableLog | undefined, shared: SharedParts): EmbeddedStore {
    return new EmbeddedStore(options, pool, durable, shared);
  }

  /** An embedded store in memory only (`dataDir` must be absent). O(maxKeys) for the key index. */
  static memory(options: EmbeddedStoreOptions): EmbeddedStore {
    if (options.dataDir !== undefined) throw new Error("EmbeddedStore.memory takes no data dir: use EmbeddedStore.open");
    return new EmbeddedStore(options, new KeyPool(options, options.random), undefined);
  }

  /**
   * Opens the store: with `dataDir`, opens (creating if missing) the dir and recovers the pool it
   * holds (see `recover` for the rules); rejects with DataDirError, naming the path and the fix,
   * for a dir that cannot be used or is damaged (it never starts over with an empty pool). O(n)
   * in the keys held.
   */
  static async open(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
    if (options.dataDir === undefined) return EmbeddedStore.memory(options);
    const pool = new KeyPool(options, options.random);
    return new EmbeddedStore(options, pool, await DurableLog.open(options.dataDir, pool, options, options.scheduler));
  }

  async generate(count: number): Promise<KeyInfo[]> {
    return this.add((now) => this.pool.generate(count, now));
  }

  /** Adds existing secrets as free keys, all or none (see KeyPool.import). O(k). */
  async import(keys: readonly string[]): Promise<KeyInfo[]> {
    return this.add((now) => this.pool.import(keys, now));
  }

  /** Runs an operation that adds keys, records them, and tells waiters once they are durable. */
  private async add(make: (now: number) => KeyInfo[]): Promise<KeyInfo[]> {
    const keys = await this.run((now) => {
      const made = make(now);
      for (const info of made) this.log?.put(info, now);
      this.pokeSweeper();
      return made;
    });
    this.announceFreed();
    return keys;
  }

  async acquire(): Promise<KeyInfo> {
    return this.run((now) => this.saved(this.pool.acquire(now), now));
  }

  /** Unblocks a key, or with `cooldownMs` parks it as COOLING (see KeyPool.release). O(1), O(log n) with a cooldown. */
  async release(key: string, leaseId?: string, cooldownMs?: number): Promise<KeyInfo> {
    const info = await this.run((now) => this.saved(this.pool.release(key, leaseId, now, cooldownMs), now));
    this.announceFreed();
    return info;
  }

  async delete(key: string): Promise<void> {
    return this.run((now) => {
      this.pool.delete(key, now);
      this.log?.remove(key, now);
    });
  }

  async keepAlive(key: string): Promise<KeyInfo> {
    return this.run((now) => this.saved(this.pool.keepAlive(key, now), now));
  }

  async renew(key: string, leaseId: string): Promise<KeyInfo> {
    return this.run((now) => {
      const outcome = this.pool.renew(key, leaseId, now);
      if (!outcome.renewed) throw refusalError(outcome.refusal);
      return this.saved(outcome.info, now);
    });
  }

  async renewMany(leases: readonly LeaseRef[]): Promise<LeaseResult[]> {
    return this.run((now) => {
      const log = this.log;
      // In memory nothing needs the renewed keys' descriptions: the pool builds none.
      const results = this.pool.renewMany(leases, now, log && ((info) => log.put(info, now)));
      // The block deadlines moved later, all to one instant: one word to the sweeper covers them.
      this.pokeSweeper();
      if (log && results.some((r) => r.reason === "not-found")) log.deathsSeen(now);
      return results;
    });
  }

  async keepAliveMany(keys: readonly string[]): Promise<KeepAliveResult[]> {
    keys.forEach((k, i) => assertKey(k, `keys[${i}]`));
    return this.run((now) => {
      let missed = false;
      const results = keys.map((key): KeepAliveResult => {
        const info = this.pool.tryKeepAlive(key, now);
        if (!info) {
          missed = true;
          return { key, found: false };
        }
        this.saved(info, now);
        return { key, found: true, expiresAt: info.expiresAt };
      });
      if (missed) this.log?.deathsSeen(now);
      return results;
    });
  }

  /** One page of the pool in position order (see KeyPool.list). O(pageSize); reads wait for queued writes. */
  async list(query: ListQuery): Promise<ListPage> {
    return this.run((now) => this.pool.list(query, now));
  }

  async get(key: string): Promise<KeyInfo> {
    return this.run((now) => this.pool.get(key, now));
  }

  /**
   * Exact counts: `total` is the keys alive at this instant. Keys that died are reclaimed first,
   * STATS_SLICE units of expiry work per event-loop turn, so a mass expiry delays the answer
   * (by the sweeper's own work, done once) but never holds the event loop. O(1) per turn.
   */
  async stats(): Promise<PoolStats> {
    let swept = 0;
    for (let done = STATS_SLICE; done === STATS_SLICE && this.isServing(); swept += done) {
      done = this.pool.sweep(this.scheduler.now(), STATS_SLICE);
      if (done === STATS_SLICE) await new Promise((resolve) => setImmediate(resolve));
    }
    if (swept > 0) this.announceFreed();
    return this.run((now) => this.pool.stats(now));
  }

  counters(): PoolCounters {
    return { ...this.pool.counters };
  }

  onKeysFreed(listener: () => void): () => void {
    return this.subscribeFreed(listener);
  }

  isServing(): boolean {
    return this.closing === undefined && this.log?.failed === undefined;
  }

  onServingChange(listener: (serving: boolean) => void): () => void {
    return this.servingChanged.subscribe(listener);
  }

  describe(): StoreDescription {
    if (!this.log) return { store: "memory", summary: "serving an in-memory pool: its keys are gone when the process ends", details: {} };
    return { store: "durable", summary: "recovered the pool from the data dir", details: this.log.details() };
  }

  /** Stops background work; when durable, waits for queued writes and closes the dir. Idempotent. */
  async close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /**
   * Runs `op` on the pool at `now`; when durable, then waits until every write queued so far is
   * on disk. A NOT_FOUND may tell the caller that a key died, so the log hears of it first.
   */
  private async run<T>(op: (now: number) => T): Promise<T> {
    if (this.closing) throw new KeyPoolError("unavailable", "the store is closed: keypool is shutting down");
    const log = this.log;
    if (log?.failed) throw log.failed;
    const now = this.scheduler.now();
    if (!log) return op(now);
    let result: T;
    try {
      result = op(now);
    } catch (err) {
      if (err instanceof KeyPoolError && err.code === "not-found") log.deathsSeen(now);
      await log.barrier();
      throw err;
    }
    await log.barrier();
    return result;
  }

  /** Says keys of this pool may be free (to waiters, once durable). */
  private announceFreed(): void {
    this.notifyFreed(this.poolName);
  }

  /**
   * Tells the sweeper the pool's next deadline may have moved. O(1); when shared, O(log pools)
   * only if it moved earlier than the set's heap entry (judged by the pool's cheap bound).
   */
  private pokeSweeper(): void {
    this.sweeps?.report(this.sweepId, this.pool.deadlineBound());
    this.sweeper.poke();
  }

  /** Queues `info`'s record; a new block deadline may be the earliest, so the sweeper hears of it. */
  private saved(info: KeyInfo, now: number): KeyInfo {
    this.log?.put(info, now);
    this.pokeSweeper();
    return info;
  }

  private async shutdown(): Promise<void> {
    const wasServing = this.log?.failed === undefined;
    if (this.owns) this.sweeper.close();
    try {
      await this.log?.close(this.scheduler.now());
    } finally {
      if (wasServing) this.servingChanged.emit(false);
    }
  }
}
