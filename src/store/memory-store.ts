import type { Clock } from "../clock.js";
import { KeyPool, KeyPoolError, assertKey, refusalError } from "../pool/index.js";
import type { KeepAliveResult, KeyInfo, LeaseRef, LeaseResult, PoolCounters, PoolOptions, PoolSettings, PoolStats } from "../pool/index.js";
import type { Random } from "../random.js";
import type { KeyStore, StoreDescription } from "./key-store.js";
import { Signal } from "./signal.js";
import { Sweeper } from "./sweeper.js";

/** Settings of an in-memory store. */
export interface MemoryStoreOptions extends PoolOptions {
  readonly clock: Clock;
  readonly random: Random;
}

/**
 * The embedded default: one `KeyPool` in this process, swept in the background. Fast (no I/O),
 * and gone when the process ends. Every method is O(1) (O(k) for k keys).
 */
export class MemoryStore implements KeyStore {
  readonly settings: PoolSettings;
  /** The pool itself, for in-process use (metrics, benchmarks, durable wrappers). */
  readonly pool: KeyPool;
  readonly sweeper: Sweeper;
  protected readonly clock: Clock;

  constructor(options: MemoryStoreOptions) {
    this.clock = options.clock;
    this.pool = new KeyPool(options, options.random);
    this.settings = settingsOf(options);
    this.sweeper = new Sweeper(this.pool, this.clock, () => this.keysFreed());
  }

  /** Tells waiting acquires that keys may be free. */
  private readonly freed = new Signal();

  private keysFreed(): void {
    this.freed.emit();
  }

  onKeysFreed(listener: () => void): () => void {
    return this.freed.subscribe(listener);
  }

  counters(): PoolCounters {
    return this.pool.counters;
  }

  async generate(count: number): Promise<KeyInfo[]> {
    const keys = this.pool.generate(count, this.clock.now());
    this.sweeper.poke();
    this.keysFreed();
    return keys;
  }

  async acquire(): Promise<KeyInfo> {
    const key = this.pool.acquire(this.clock.now());
    this.sweeper.poke();
    return key;
  }

  async release(key: string, leaseId?: string): Promise<KeyInfo> {
    const info = this.pool.release(key, leaseId, this.clock.now());
    this.keysFreed();
    return info;
  }

  async delete(key: string): Promise<void> {
    this.pool.delete(key, this.clock.now());
  }

  async keepAlive(key: string): Promise<KeyInfo> {
    return this.pool.keepAlive(key, this.clock.now());
  }

  async renew(key: string, leaseId: string): Promise<KeyInfo> {
    const outcome = this.pool.renew(key, leaseId, this.clock.now());
    if (!outcome.renewed) throw refusalError(outcome.refusal);
    return outcome.info;
  }

  async renewMany(leases: readonly LeaseRef[]): Promise<LeaseResult[]> {
    return this.pool.renewMany(leases, this.clock.now());
  }

  async keepAliveMany(keys: readonly string[]): Promise<KeepAliveResult[]> {
    keys.forEach((k, i) => assertKey(k, `keys[${i}]`));
    const now = this.clock.now();
    return keys.map((key) => {
      try {
        return { key, found: true, expiresAt: this.pool.keepAlive(key, now).expiresAt };
      } catch (err) {
        if (err instanceof KeyPoolError && err.code === "not-found") return { key, found: false };
        throw err;
      }
    });
  }

  async get(key: string): Promise<KeyInfo> {
    return this.pool.get(key, this.clock.now());
  }

  async stats(): Promise<PoolStats> {
    return this.pool.stats(this.clock.now());
  }

  describe(): StoreDescription {
    return { store: "memory", summary: "serving an in-memory pool: its keys are gone when the process ends", details: {} };
  }

  isServing(): boolean {
    return true;
  }

  onServingChange(): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    this.sweeper.close();
  }
}

/** The three rules of `options`, without the tuning knobs. O(1). */
export function settingsOf(options: PoolSettings): PoolSettings {
  const { blockTtlMs, keepaliveTtlMs, maxKeys } = options;
  return { blockTtlMs, keepaliveTtlMs, maxKeys };
}
