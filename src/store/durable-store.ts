import type { Clock } from "../clock.js";
import { KeyPool, KeyPoolError, assertKey, refusalError } from "../pool/index.js";
import type { KeepAliveResult, KeyInfo, LeaseRef, LeaseResult, PoolCounters, PoolOptions, PoolSettings, PoolStats } from "../pool/index.js";
import type { Random } from "../random.js";
import { inspectDataDir, writeMarker } from "./durable/data-dir.js";
import { lockDataDir } from "./durable/dir-lock.js";
import type { DirLock } from "./durable/dir-lock.js";
import { DiskReaper } from "./durable/disk-reaper.js";
import { Journal } from "./durable/journal.js";
import { recover } from "./durable/recovery.js";
import type { RecoveryReport } from "./durable/recovery.js";
import type { KeyStore, StoreDescription } from "./key-store.js";
import { settingsOf } from "./memory-store.js";
import { Signal } from "./signal.js";
import { Sweeper } from "./sweeper.js";

export { DataDirError } from "./durable/data-dir.js";
export type { RecoveryReport } from "./durable/recovery.js";

/** Settings of a durable store. */
export interface DurableStoreOptions extends PoolOptions {
  /** The data dir (`--data-dir`): created if missing; held by one process at a time. */
  readonly dataDir: string;
  readonly clock: Clock;
  readonly random: Random;
}

/** How often background upkeep runs: one reaper slice, and a watermark if one is due. */
const UPKEEP_MS = 250;
/** The longest keys may have been dead (unseen) before a watermark records it. */
const WATERMARK_EVERY_MS = 1_000;

/**
 * The pool kept on disk (`--data-dir`): a restart, even after `kill -9`, loses nothing that was
 * acknowledged. The in-memory `KeyPool` answers every request in O(1); every change is written to
 * the data dir (LMDB) and is on disk before its promise resolves. Writes are group-committed: all
 * requests of one event-loop turn share one transaction and one fsync, done off the event loop.
 * Every answer, reads too, waits for the writes queued before it, so nobody sees a state a crash
 * could undo. Auto-releases and expiry are not written (they are recomputed from deadlines);
 * the records of dead keys are reaped in the background. After a failed disk write the store
 * stops serving (UNAVAILABLE) until restarted: memory never runs ahead of the disk for long.
 */
export class DurableStore implements KeyStore {
  readonly settings: PoolSettings;
  /** The pool itself, for in-process use (metrics). */
  readonly pool: KeyPool;
  /** What the last open recovered, for the start-up log line. */
  readonly recovery: RecoveryReport;
  private readonly clock: Clock;
  private readonly dataDir: string;
  private readonly sweeper: Sweeper;
  private readonly reaper: DiskReaper;
  private readonly upkeep: NodeJS.Timeout;
  private readonly servingChanged = new Signal<[serving: boolean]>();
  private closing: Promise<void> | undefined;
  /** `pool.counters.expired` when the last death watermark was queued. */
  private deathsMarked = 0;

  private constructor(
    options: DurableStoreOptions,
    pool: KeyPool,
    private readonly journal: Journal,
    private readonly lock: DirLock,
    recovery: RecoveryReport,
  ) {
    this.clock = options.clock;
    this.pool = pool;
    this.settings = settingsOf(options);
    this.dataDir = options.dataDir;
    this.recovery = recovery;
    this.sweeper = new Sweeper(pool, this.clock, () => this.keysFreed());
    this.sweeper.poke();
    this.reaper = new DiskReaper(journal, (key, now) => this.isGone(key, now));
    this.upkeep = setInterval(() => this.runUpkeep(), UPKEEP_MS).unref();
    journal.onFailure(() => this.notify(false));
  }

  /**
   * Opens (creating if missing) the data dir and recovers the pool it holds; see `recover` for
   * the rules. Rejects with DataDirError, naming the path and the fix, for a dir that cannot be
   * used or is damaged: it never starts over with an empty pool. O(n) in the keys held.
   */
  static async open(options: DurableStoreOptions): Promise<DurableStore> {
    const dir = options.dataDir;
    if (dir.length === 0) throw new Error("the data dir path is empty: set --data-dir or KEYPOOL_DATA_DIR");
    const state = await inspectDataDir(dir);
    const lock = await lockDataDir(dir);
    let journal: Journal | undefined;
    try {
      if (state.marker === "none") await writeMarker(dir, false);
      journal = await Journal.open(dir, state);
      const pool = new KeyPool(options, options.random);
      const report = await recover(journal, pool, options, options.clock.now());
      if (state.marker !== "ready") await writeMarker(dir, true);
      return new DurableStore(options, pool, journal, lock, report);
    } catch (err) {
      await journal?.abandon();
      await lock.release();
      throw err;
    }
  }

  async generate(count: number): Promise<KeyInfo[]> {
    const generated = await this.run((now) => {
      const keys = this.pool.generate(count, now);
      for (const info of keys) this.journal.put(info, now);
      this.sweeper.poke();
      return keys;
    });
    this.keysFreed();
    return generated;
  }

  async acquire(): Promise<KeyInfo> {
    return this.run((now) => this.saved(this.pool.acquire(now), now));
  }

  async release(key: string, leaseId?: string): Promise<KeyInfo> {
    const info = await this.run((now) => this.saved(this.pool.release(key, leaseId, now), now));
    this.keysFreed();
    return info;
  }

  /** Tells waiting acquires (once the change is durable) that keys may be free. */
  onKeysFreed(listener: () => void): () => void {
    return this.freed.subscribe(listener);
  }

  counters(): PoolCounters {
    return this.pool.counters;
  }

  private readonly freed = new Signal();

  private keysFreed(): void {
    this.freed.emit();
  }

  async delete(key: string): Promise<void> {
    return this.run((now) => {
      this.pool.delete(key, now);
      this.journal.remove(key, now);
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
      const results = this.pool.renewMany(leases, now, (info) => this.saved(info, now));
      if (results.some((r) => r.reason === "not-found")) this.markDeaths(now);
      return results;
    });
  }

  async keepAliveMany(keys: readonly string[]): Promise<KeepAliveResult[]> {
    keys.forEach((k, i) => assertKey(k, `keys[${i}]`));
    return this.run((now) =>
      keys.map((key) => {
        try {
          const info = this.saved(this.pool.keepAlive(key, now), now);
          return { key, found: true, expiresAt: info.expiresAt };
        } catch (err) {
          if (!isNotFound(err)) throw err;
          this.markDeaths(now);
          return { key, found: false };
        }
      }),
    );
  }

  async get(key: string): Promise<KeyInfo> {
    return this.run((now) => this.pool.get(key, now));
  }

  async stats(): Promise<PoolStats> {
    return this.run((now) => this.pool.stats(now));
  }

  describe(): StoreDescription {
    return { store: "durable", summary: "recovered the pool from the data dir", details: { dataDir: this.dataDir, recovery: this.recovery } };
  }

  isServing(): boolean {
    return this.closing === undefined && this.journal.failed === undefined;
  }

  onServingChange(listener: (serving: boolean) => void): () => void {
    return this.servingChanged.subscribe(listener);
  }

  /** Stops background work, waits for queued writes, closes the data dir. Idempotent. */
  async close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /**
   * One round of upkeep now, for tests: a reaper slice, and a watermark if keys died since the
   * last one, at most once a second (an idle pool writes nothing). O(slice).
   */
  runUpkeep(): void {
    if (!this.isServing()) return;
    try {
      const now = this.clock.now();
      const floor = this.recovery.restartedAt + this.pool.options.keepaliveTtlMs;
      this.reaper.runSlice(now, floor);
      if (now - this.journal.markedAt >= WATERMARK_EVERY_MS) this.markDeaths(now);
    } catch (err) {
      this.journal.fail(err);
    }
  }

  /**
   * Runs `op` on the pool at `now`, then waits until every write queued so far is on disk.
   * A NOT_FOUND may tell the caller that a key died, so it waits for a watermark too (see
   * `markDeaths`): a crash can then never bring back a key somebody was told is gone.
   */
  private async run<T>(op: (now: number) => T): Promise<T> {
    if (this.closing) throw new KeyPoolError("unavailable", "the store is closed: keypool is shutting down");
    if (this.journal.failed) throw this.journal.failed;
    const now = this.clock.now();
    let result: T;
    try {
      result = op(now);
    } catch (err) {
      if (isNotFound(err)) this.markDeaths(now);
      await this.journal.barrier();
      throw err;
    }
    await this.journal.barrier();
    return result;
  }

  /**
   * Queues a watermark of `now` if any key died of old age since the last one. Every death is
   * counted when the pool reclaims the key, which it does before it answers NOT_FOUND for it; a
   * deleted or unknown key needs no watermark (a delete is on disk before it is acknowledged).
   */
  private markDeaths(now: number): void {
    const deaths = this.pool.counters.expired;
    if (deaths === this.deathsMarked) return;
    this.deathsMarked = deaths;
    this.journal.mark(now);
  }

  /** Queues `info`'s record; a new block deadline may be the earliest, so the sweeper hears of it. */
  private saved(info: KeyInfo, now: number): KeyInfo {
    this.journal.put(info, now);
    this.sweeper.poke();
    return info;
  }

  /** True when the pool no longer holds `key` alive (it reclaims it then, as the sweeper would). */
  private isGone(key: string, now: number): boolean {
    try {
      this.pool.get(key, now);
      return false;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
  }

  private notify(serving: boolean): void {
    this.servingChanged.emit(serving);
  }

  private async shutdown(): Promise<void> {
    const wasServing = this.journal.failed === undefined;
    clearInterval(this.upkeep);
    this.sweeper.close();
    try {
      // Keys that died before now died while the server was up: the final watermark keeps them dead.
      await this.journal.close(this.clock.now());
    } finally {
      await this.lock.release();
      if (wasServing) this.notify(false);
    }
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof KeyPoolError && err.code === "not-found";
}
