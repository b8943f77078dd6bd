import type { ManualClock } from "../../src/clock.js";
import type { ManualScheduler } from "../../src/scheduler.js";
import type { Random } from "../../src/random.js";
import type { KeyStore } from "../../src/store/key-store.js";
import type { PoolSet } from "../../src/store/pool-set.js";

/** What the conformance suite asks a store factory for. */
export interface StoreSettings {
  readonly blockTtlMs: number;
  readonly keepaliveTtlMs: number;
  readonly maxKeys: number;
  /** The longest lease (default: the store's, 24 h). */
  readonly maxLeaseMs?: number;
  /** The time every deadline is judged by; tests advance it explicitly. */
  readonly clock: ManualClock;
  /** Timers on `clock`, for stores whose background work runs on a scheduler (embedded ones). */
  readonly scheduler: ManualScheduler;
  /** Seeded randomness for the pick among free keys. */
  readonly random: Random;
}

/** A store made for one test, and how to dispose of it. */
export interface StoreUnderTest {
  readonly store: KeyStore;
  /** Closes the store and removes whatever it left behind (Redis keys, files). */
  cleanup(): Promise<void>;
}

/** Makes a fresh, empty store for one test. */
export type StoreFactory = (settings: StoreSettings) => Promise<StoreUnderTest>;

/** A store whose backend the test can break (a failed disk, a killed Redis). */
export interface FaultyStoreUnderTest extends StoreUnderTest {
  /** Makes the backend fail now; resolves once the failure happened (not once the store noticed). */
  fail(): Promise<void>;
}

/**
 * What a store can do beyond the contract every store meets; the suite runs the matching groups
 * only where a capability is given (an in-memory store has no backend to lose, and a pool with
 * one server has no second one to agree with).
 */
export interface StoreCapabilities {
  /** Opens a fresh store whose backend the test can fail. */
  readonly faulty?: (settings: StoreSettings) => Promise<FaultyStoreUnderTest>;
  /**
   * Opens another store on the SAME pool as `first`, with `settings` (the second server of a
   * shared pool). Settings that disagree with the pool's may reject (the Redis helper's
   * mismatch rule); equal ones must open and report the pool's settings.
   */
  readonly samePool?: (first: KeyStore, settings: StoreSettings) => Promise<StoreUnderTest>;
  /** Opens the named pools of a fresh server (a PoolSet with default pool "home", at most 5 pools). */
  readonly poolSet?: (settings: StoreSettings) => Promise<PoolSetUnderTest>;
}

/** A server's pools made for one test, and how to dispose of them. */
export interface PoolSetUnderTest {
  readonly pools: PoolSet;
  /** Closes the pools and removes whatever they left behind. */
  cleanup(): Promise<void>;
}
