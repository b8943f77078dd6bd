import { KeyPool } from "../../pool/index.js";
import type { KeyInfo, PoolOptions } from "../../pool/index.js";
import type { Scheduler, TimerHandle } from "../../scheduler.js";
import type { PoolLog } from "../pool-log.js";
import { Signal } from "../signal.js";
import { DataDirError, inspectDataDir, writeMarker } from "./data-dir.js";
import { lockDataDir } from "./dir-lock.js";
import type { DirLock } from "./dir-lock.js";
import { DiskReaper } from "./disk-reaper.js";
import { Journal } from "./journal.js";
import { recordKey } from "./record-codec.js";
import { recover } from "./recovery.js";
import type { RecoveryReport, RecoveryTarget } from "./recovery.js";

/**
 * The pools a data dir holds, as its log sees them: pools are named by their record-key part
 * ("" = the default pool, whatever `--pool` calls it; see recordKey).
 */
export interface LoggedPools {
  /** The pool recovery fills for a record of pool part `pool`, made if missing (DataDirError if it cannot be). */
  readonly restoreTarget: RecoveryTarget;
  /** Whether `key` of pool part `pool` is alive at `now` (a dead one is reclaimed; a pool not held: false). O(1). */
  isLive(pool: string, key: string, now: number): boolean;
  /** Keys of pool part `pool` that died of old age so far (O(1)); without `pool`, over every pool (O(pools)). */
  deaths(pool?: string): number;
}

/** The LoggedPools of a data dir holding one pool, the default: a record of any other pool is refused. */
export function onePool(pool: KeyPool, dir: string): LoggedPools {
  return {
    restoreTarget: (part) => {
      if (part === "") return pool;
      throw new DataDirError(dir, `holds keys of pool "${part}" besides the default pool`, "open it with a server that serves named pools (keypool serve)");
    },
    isLive: (part, key, now) => part === "" && pool.isLive(key, now),
    deaths: (part) => (part === undefined || part === "" ? pool.counters.expired : 0),
  };
}

/** How often background upkeep runs: one reaper slice, and a watermark if one is due. */
const UPKEEP_MS = 250;
/** The longest keys may have been dead (unseen) before a watermark records it. */
const WATERMARK_EVERY_MS = 1_000;

/**
 * The data dir (`--data-dir`) behind an embedded store: an LMDB journal of every key's record,
 * held by one process at a time. Writes are group-committed (all changes of one event-loop turn
 * share one transaction and one fsync, done off the event loop). Auto-releases and expiry are
 * not written (they are recomputed from deadlines); the records of dead keys are reaped in the
 * background, and death watermarks keep dead keys dead across a crash. See docs/durability.md.
 */
export class DurableLog implements PoolLog {
  /** What the open recovered, for the start-up log line. */
  readonly recovery: RecoveryReport;
  private readonly reaper: DiskReaper;
  private upkeepTimer: TimerHandle | undefined;
  private closing: Promise<void> | undefined;
  /** `pools.deaths()` when the last watermark of upkeep was queued. */
  private deathsMarked = 0;
  /** `pools.deaths(part)` when a request of pool part `part` last queued a watermark. */
  private readonly deathsMarkedIn = new Map<string, number>();
  private readonly failedSignal = new Signal();
  private checking: Promise<void> | undefined;
  private nextCheck: Promise<void> | undefined;

  private constructor(
    private readonly dir: string,
    private readonly pools: LoggedPools,
    private readonly journal: Journal,
    private readonly lock: DirLock,
    private readonly scheduler: Scheduler,
    private readonly keepaliveTtlMs: number,
    recovery: RecoveryReport,
  ) {
    this.recovery = recovery;
    this.reaper = new DiskReaper(journal, (record, now) => !pools.isLive(record.pool, record.key, now));
    journal.onFailure(() => this.failedSignal.emit());
    this.scheduleUpkeep();
  }

  /**
   * Opens (creating if missing) the data dir and recovers the pools it holds into the empty
   * pools of `pools` (a single KeyPool: the default pool only); see `recover` for the rules.
   * Rejects with DataDirError, naming the path and the fix, for a dir that cannot be used or is
   * damaged: it never starts over with an empty pool. O(n) in the keys held.
   */
  static async open(dir: string, pools: LoggedPools | KeyPool, options: PoolOptions, scheduler: Scheduler): Promise<DurableLog> {
    const logged = pools instanceof KeyPool ? onePool(pools, dir) : pools;
    if (dir.length === 0) throw new Error("the data dir path is empty: set --data-dir or KEYPOOL_DATA_DIR");
    const state = await inspectDataDir(dir);
    const lock = await lockDataDir(dir);
    let journal: Journal | undefined;
    try {
      if (state.marker === "none") await writeMarker(dir, false);
      journal = await Journal.open(dir, state);
      const report = await recover(journal, logged.restoreTarget, options, scheduler.now());
      if (state.marker !== "ready") await writeMarker(dir, true);
      return new DurableLog(dir, logged, journal, lock, scheduler, options.keepaliveTtlMs, report);
    } catch (err) {
      await journal?.abandon();
      await lock.release();
      throw err;
    }
  }

  get failed(): Error | undefined {
    return this.journal.failed;
  }

  put(info: KeyInfo, now: number): void {
    this.journal.put(info, now);
  }

  remove(key: string, now: number): void {
    this.journal.remove(key, now);
  }

  /**
   * The log of pool part `pool` ("" = the default pool: this log itself): its records sit under
   * recordKey(pool, key). Closing a view closes nothing (the shared log closes once). O(1).
   */
  view(pool: string): PoolLog {
    if (pool === "") return this;
    const log = this;
    return {
      get failed() {
        return log.failed;
      },
      put: (info, now) => this.journal.put(info, now, recordKey(pool, info.key)),
      remove: (key, now) => this.journal.remove(recordKey(pool, key), now),
      deathsSeen: (now) => this.deathsSeenIn(pool, now),
      barrier: () => this.barrier(),
      onFailure: (listener) => this.onFailure(listener),
      details: () => this.details(),
      close: async () => {},
    };
  }

  /**
   * Queues a watermark of `now` if a key of the default pool died of old age since the last one
   * (see deathsSeenIn). O(1).
   */
  deathsSeen(now: number): void {
    this.deathsSeenIn("", now);
  }

  /**
   * Queues a watermark of `now` if a key of pool part `pool` died of old age since that pool last
   * asked. Every death is counted when the pool reclaims the key, which it does before it answers
   * NOT_FOUND for it; a deleted or unknown key needs no watermark (a delete is on disk before it is
   * acknowledged). Another pool's deaths are marked by its own answers, or by upkeep. O(1).
   */
  deathsSeenIn(pool: string, now: number): void {
    const deaths = this.pools.deaths(pool);
    if (deaths === (this.deathsMarkedIn.get(pool) ?? 0)) return;
    this.deathsMarkedIn.set(pool, deaths);
    this.journal.mark(now);
  }

  /** Upkeep's watermark: queued if a key of any pool died since upkeep's last one. O(pools), once a second at most. */
  private deathsSeenAnywhere(now: number): void {
    const deaths = this.pools.deaths();
    if (deaths === this.deathsMarked) return;
    this.deathsMarked = deaths;
    this.journal.mark(now);
  }

  /**
   * Resolves once every write queued so far is on disk AND the dir is still the one opened: an
   * `rm -rf` or a replaced dir is noticed before the next answer, so nothing is acknowledged as
   * durable into a deleted file. One `stat` per round of concurrent requests, off the event loop.
   */
  async barrier(): Promise<void> {
    await this.journal.barrier();
    await this.dirChecked();
  }

  /** A dir check that starts after now; calls arriving while one runs share the next one. */
  private dirChecked(): Promise<void> {
    if (!this.checking) {
      this.checking = this.checkDir().finally(() => (this.checking = undefined));
      return this.checking;
    }
    this.nextCheck ??= this.checking.then(() => {
      this.nextCheck = undefined;
      return this.dirChecked();
    });
    return this.nextCheck;
  }

  private async checkDir(): Promise<void> {
    const problem = await this.lock.check();
    if (problem) this.journal.fail(new Error(problem));
    await this.journal.barrier();
  }

  onFailure(listener: () => void): void {
    this.failedSignal.subscribe(listener);
  }

  /**
   * Fails the log as a failed disk write does: the store stops serving and every later call is
   * UNAVAILABLE until restarted. For checks that find the dir unusable, and for tests. O(1).
   */
  fail(cause: unknown): void {
    this.journal.fail(cause);
  }

  details(): Readonly<Record<string, unknown>> {
    return { dataDir: this.dir, recovery: this.recovery };
  }

  /**
   * One round of upkeep now (the timer runs it every 250 ms; tests call it by hand): a reaper
   * slice, and a watermark if keys died since the last one, at most once a second (an idle pool
   * writes nothing). O(slice).
   */
  runUpkeep(): void {
    if (this.closing || this.journal.failed) return;
    // An idle server notices a deleted dir too, and reports NOT_SERVING.
    this.dirChecked().catch(() => undefined);
    try {
      const now = this.scheduler.now();
      const floor = this.recovery.restartedAt + this.keepaliveTtlMs;
      this.reaper.runSlice(now, floor);
      if (now - this.journal.markedAt >= WATERMARK_EVERY_MS) this.deathsSeenAnywhere(now);
    } catch (err) {
      this.journal.fail(err);
    }
  }

  close(now: number): Promise<void> {
    this.closing ??= this.shutdown(now);
    return this.closing;
  }

  private scheduleUpkeep(): void {
    this.upkeepTimer = this.scheduler.setTimeout(() => {
      this.runUpkeep();
      if (!this.closing) this.scheduleUpkeep();
    }, UPKEEP_MS);
  }

  private async shutdown(now: number): Promise<void> {
    if (this.upkeepTimer !== undefined) this.scheduler.clearTimeout(this.upkeepTimer);
    try {
      // Keys that died before now died while the server was up: the final watermark keeps them dead.
      await this.journal.close(now);
    } finally {
      await this.lock.release();
    }
  }
}
