import type { ManualClock } from "../../src/clock.js";
import type { Random } from "../../src/random.js";
import type { KeyStore } from "../../src/store/key-store.js";

/** What the conformance suite asks a store factory for. */
export interface StoreSettings {
  readonly blockTtlMs: number;
  readonly keepaliveTtlMs: number;
  readonly maxKeys: number;
  /** The longest lease (default: the store's, 24 h). */
  readonly maxLeaseMs?: number;
  /** The time every deadline is judged by; tests advance it explicitly. */
  readonly clock: ManualClock;
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
