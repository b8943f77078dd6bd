import { DEFAULT_POOL, KeyPool, KeyPoolError, SlotTable, messages } from "../pool/index.js";
import { DataDirError } from "./durable/data-dir.js";
import { DurableLog } from "./durable/durable-log.js";
import type { LoggedPools } from "./durable/durable-log.js";
import { EmbeddedStore } from "./embedded-store.js";
import type { EmbeddedStoreOptions, SharedParts } from "./embedded-store.js";
import { emptyPoolView } from "./empty-pool.js";
import type { KeyStore, StoreDescription } from "./key-store.js";
import { resolvePoolName } from "./pool-set.js";
import type { PoolSet } from "./pool-set.js";
import { PoolSweeps } from "./pool-sweeps.js";
import { Signal } from "./signal.js";
import { Sweeper } from "./sweeper.js";

/** Settings of the embedded pools: one pool's settings (every pool has them), and how many pools. */
export interface EmbeddedPoolsOptions extends EmbeddedStoreOptions {
  /** The default pool's name (`--pool`; "" in a request means it). Default "default". */
  readonly defaultPool?: string;
  /** `--max-pools`: the most pools this server holds, the default pool included. */
  readonly maxPools: number;
}

/**
 * The named pools of one process (POOLS.md 1): one `KeyPool` + `EmbeddedStore` per pool, made on
 * the first GenerateKeys or ImportKeys into it, their keys all in ONE slot table (so an op in any
 * of a thousand pools touches the same columns as an op in one big pool), all swept by ONE sweeper (one timer, pools in a
 * heap by next deadline: `PoolSweeps`) and, with a data dir, kept in ONE journal (records of the
 * default pool under the bare key, so an existing data dir opens unchanged as the default pool;
 * others under `\x01pool\x01key`). Every member is O(1) (O(log pools) per change to a pool's
 * deadlines); recovery is O(n) in the keys held.
 */
export class EmbeddedPools implements PoolSet {
  readonly defaultPool: string;
  /** The durable log shared by every pool, when there is a data dir (tests run upkeep by hand). */
  readonly dataDir: DurableLog | undefined;
  /** The one background reclaimer of all pools (tests run slices by hand). */
  readonly sweeper: Sweeper;
  private readonly sweeps = new PoolSweeps();
  private readonly stores = new Map<string, EmbeddedStore>();
  private readonly freed = new Signal<[pool: string]>();
  /** Tells the listeners that keys of a pool may be free; one function for every pool's store. */
  private readonly announceFreed = (name: string): void => this.freed.emit(name);
  private readonly servingChanged = new Signal<[serving: boolean]>();
  private readonly empty: KeyStore;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly options: EmbeddedPoolsOptions,
    /** Where the keys of every pool live. */
    private readonly table: SlotTable,
    durable: DurableLog | undefined,
    restored: ReadonlyMap<string, KeyPool>,
  ) {
    this.defaultPool = options.defaultPool ?? DEFAULT_POOL;
    this.dataDir = durable;
    this.sweeper = new Sweeper(this.sweeps, options.scheduler);
    durable?.onFailure(() => this.servingChanged.emit(false));
    const home = this.make(this.defaultPool, restored.get(this.defaultPool));
    for (const [name, pool] of restored) if (name !== this.defaultPool) this.make(name, pool);
    this.empty = emptyPoolView(home.settings, this);
  }

  /**
   * Opens the pools: in memory, or with `dataDir` the data dir and every pool it holds (see
   * `recover`; more pools than maxPools, or a named pool that has the default pool's name, is a
   * DataDirError naming the fix). O(n) in the keys held.
   */
  static async open(options: EmbeddedPoolsOptions): Promise<EmbeddedPools> {
    if (!Number.isSafeInteger(options.maxPools) || options.maxPools < 1) throw new RangeError(messages.notPositive("maxPools", options.maxPools));
    const defaultPool = resolvePoolName(options.defaultPool ?? DEFAULT_POOL, DEFAULT_POOL);
    const restored = new Map<string, KeyPool>();
    const table = new SlotTable(options.random);
    if (options.dataDir === undefined) return new EmbeddedPools(options, table, undefined, restored);
    const dir = options.dataDir;
    const pools: LoggedPools = {
      restoreTarget: (part) => {
        const name = part === "" ? defaultPool : part;
        if (part === defaultPool) throw new DataDirError(dir, `holds pool "${part}" both as the default pool and by name`, `start with a --pool other than "${part}"`);
        let pool = restored.get(name);
        if (pool) return pool;
        if (restored.size >= options.maxPools) throw new DataDirError(dir, `holds more than --max-pools (${options.maxPools}) pools`, "raise --max-pools");
        restored.set(name, (pool = new KeyPool(options, options.random, table)));
        return pool;
      },
      isLive: (part, key, now) => restored.get(part === "" ? defaultPool : part)?.isLive(key, now) === true,
      deaths: (part) => {
        if (part !== undefined) return restored.get(part === "" ? defaultPool : part)?.counters.expired ?? 0;
        let n = 0;
        for (const pool of restored.values()) n += pool.counters.expired;
        return n;
      },
    };
    const durable = await DurableLog.open(dir, pools, options, options.scheduler);
    const set = new EmbeddedPools({ ...options, defaultPool }, table, durable, restored);
    // Pools made after recovery join the same directory, so the reaper and watermarks see them.
    set.onPoolMade = (name, pool) => restored.set(name, pool);
    for (const [name, store] of set.stores) if (!restored.has(name)) restored.set(name, store.pool);
    return set;
  }

  /** Hears every pool made after open (the data dir's directory of pools). */
  private onPoolMade: (name: string, pool: KeyPool) => void = () => {};

  pool(name: string, create: boolean): KeyStore {
    const full = resolvePoolName(name, this.defaultPool);
    const known = this.stores.get(full);
    if (known) return known;
    if (!create) return this.empty;
    if (this.closing) throw new KeyPoolError("unavailable", "the store is closed: keypool is shutting down");
    if (this.stores.size >= this.options.maxPools) throw new KeyPoolError("resource-exhausted", messages.tooManyPools(full, this.options.maxPools));
    return this.make(full, undefined);
  }

  poolNames(): readonly string[] {
    return [...this.stores.keys()];
  }

  onKeysFreed(listener: (pool: string) => void): () => void {
    return this.freed.subscribe(listener);
  }

  isServing(): boolean {
    return this.closing === undefined && this.dataDir?.failed === undefined;
  }

  onServingChange(listener: (serving: boolean) => void): () => void {
    return this.servingChanged.subscribe(listener);
  }

  describe(): StoreDescription {
    const details = { pool: this.defaultPool, pools: this.stores.size, maxPools: this.options.maxPools };
    if (!this.dataDir) return { store: "memory", summary: "serving in-memory pools: their keys are gone when the process ends", details };
    return { store: "durable", summary: "recovered the pools from the data dir", details: { ...details, ...this.dataDir.details() } };
  }

  /** Stops the sweeper, closes every pool, then waits for queued writes and closes the data dir. Idempotent. */
  async close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private make(name: string, restored: KeyPool | undefined): EmbeddedStore {
    const pool = restored ?? new KeyPool(this.options, this.options.random, this.table);
    const shared: SharedParts = {
      sweeper: this.sweeper, sweeps: this.sweeps, logPart: name === this.defaultPool ? "" : name,
      name,
      announceFreed: this.announceFreed,
      onKeysFreed: (listener) => this.freed.subscribe((pool) => pool === name && listener()),
    };
    const store = EmbeddedStore.pooled(this.options, pool, this.dataDir, shared);
    this.stores.set(name, store);
    if (!restored) this.onPoolMade(name, pool);
    return store;
  }

  private async shutdown(): Promise<void> {
    const wasServing = this.dataDir?.failed === undefined;
    this.sweeper.close();
    await Promise.all([...this.stores.values()].map((s) => s.close()));
    try {
      await this.dataDir?.close(this.options.scheduler.now());
    } finally {
      if (wasServing) this.servingChanged.emit(false);
    }
  }
}
