import { expect } from "vitest";
import { ManualClock } from "../../../src/clock.js";
import { KeyPoolError } from "../../../src/pool/index.js";
import type { KeyPoolErrorCode } from "../../../src/pool/index.js";
import { seededRandom } from "../../../src/random.js";
import { ManualScheduler } from "../../../src/scheduler.js";
import type { KeyStore } from "../../../src/store/key-store.js";
import type { PoolSet } from "../../../src/store/pool-set.js";
import type { StoreCapabilities, StoreFactory, StoreSettings, StoreUnderTest } from "../harness.js";

/** The block TTL every conformance test uses unless it says otherwise. */
export const BLOCK_MS = 60_000;
/** The keepalive TTL every conformance test uses unless it says otherwise. */
export const LIFE_MS = 300_000;
/** The capacity every conformance test uses unless it says otherwise. */
export const MAX_KEYS = 1_200;
/** The documented key shape: `kp_` + 24 URL-safe base64 characters. */
export const KEY_SHAPE = /^kp_[A-Za-z0-9_-]{24}$/;
/** The documented lease id shape: 24 URL-safe base64 characters. */
export const LEASE_SHAPE = /^[A-Za-z0-9_-]{24}$/;
/** A well-formed key no store ever generates in a test (2^-144 odds). */
export const UNKNOWN_KEY = "kp_unknownUnknownUnknown000";
/** A well-formed lease id no store ever hands out in a test. */
export const FOREIGN_LEASE = "AAAAAAAAAAAAAAAAAAAAAAAA";

/** One store made for a test, with the clock that judges its deadlines. */
export interface Opened {
  readonly store: KeyStore;
  readonly clock: ManualClock;
  /** Timers on `clock`: what the store's background work and a test's AcquireQueue run on. */
  readonly scheduler: ManualScheduler;
  /** Disposes of this store now rather than after the test. Idempotent. */
  cleanup(): Promise<void>;
}

/** Settings a test may change. */
type Overrides = Partial<Pick<StoreSettings, "blockTtlMs" | "keepaliveTtlMs" | "maxKeys" | "maxLeaseMs">>;

/** What every conformance group gets: a way to open fresh stores, all cleaned up after the test. */
export interface ConformanceContext {
  /** What this store can do beyond the contract (see StoreCapabilities). */
  readonly capabilities: StoreCapabilities;
  /** Opens a fresh, empty store (defaults above, `overrides` on top). O(1) stores per call. */
  open(overrides?: Overrides): Promise<Opened>;
  /** Opens a fresh store whose backend the test can fail (`capabilities.faulty` must be set). */
  openFaulty(overrides?: Overrides): Promise<Opened & { fail(): Promise<void> }>;
  /** Opens a second store on `first.store`'s pool (`capabilities.samePool` must be set). */
  openSamePool(first: Opened, overrides?: Overrides): Promise<Opened>;
  /** Opens a fresh server's pools (`capabilities.poolSet` must be set), cleaned up after the test. */
  openPools(overrides?: Overrides): Promise<OpenedPools>;
}

/** A fresh server's pools, with the clock that judges their deadlines. */
export interface OpenedPools {
  readonly pools: PoolSet;
  readonly clock: ManualClock;
  readonly scheduler: ManualScheduler;
}

/**
 * Builds the context for one suite: `open` calls `factory` with a fresh ManualClock and a seeded
 * Random; `cleanupAll` (run after each test) disposes of every store opened since.
 */
export function makeContext(
  factory: StoreFactory,
  capabilities: StoreCapabilities = {},
): ConformanceContext & { cleanupAll(): Promise<void> } {
  let opened: StoreUnderTest[] = [];
  let seed = 1;
  const settingsOf = (overrides: Overrides, clock = new ManualClock()): StoreSettings => ({
    blockTtlMs: BLOCK_MS,
    keepaliveTtlMs: LIFE_MS,
    maxKeys: MAX_KEYS,
    ...overrides,
    clock,
    scheduler: new ManualScheduler(clock),
    random: seededRandom(seed++),
  });
  const track = (sut: StoreUnderTest, settings: StoreSettings): Opened => {
    opened.push(sut);
    const cleanup = async (): Promise<void> => {
      if (!opened.includes(sut)) return;
      opened = opened.filter((o) => o !== sut);
      await sut.cleanup();
    };
    return { store: sut.store, clock: settings.clock, scheduler: settings.scheduler, cleanup };
  };
  return {
    capabilities,
    async open(overrides = {}) {
      const settings = settingsOf(overrides);
      return track(await factory(settings), settings);
    },
    async openFaulty(overrides = {}) {
      if (!capabilities.faulty) throw new Error("this store has no faulty capability");
      const settings = settingsOf(overrides);
      const sut = await capabilities.faulty(settings);
      return { ...track(sut, settings), fail: () => sut.fail() };
    },
    async openSamePool(first, overrides = {}) {
      if (!capabilities.samePool) throw new Error("this store has no samePool capability");
      const settings = settingsOf(overrides, first.clock);
      return track(await capabilities.samePool(first.store, settings), settings);
    },
    async openPools(overrides = {}) {
      if (!capabilities.poolSet) throw new Error("this store has no poolSet capability");
      const settings = settingsOf(overrides);
      const sut = await capabilities.poolSet(settings);
      opened.push({ store: sut.pools.pool("", false), cleanup: () => sut.cleanup() });
      return { pools: sut.pools, clock: settings.clock, scheduler: settings.scheduler };
    },
    async cleanupAll() {
      const all = opened;
      opened = [];
      await Promise.all(all.map((sut) => sut.cleanup()));
    },
  };
}

/** Awaits `promise`, expects a KeyPoolError with `code`, and returns it. */
export async function expectCode(promise: Promise<unknown>, code: KeyPoolErrorCode): Promise<KeyPoolError> {
  const outcome = await promise.then(
    (value: unknown) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!("error" in outcome)) throw new Error(`expected a KeyPoolError "${code}", got a result`);
  expect(outcome.error).toBeInstanceOf(KeyPoolError);
  expect((outcome.error as KeyPoolError).code).toBe(code);
  // Keys are secrets: no message may carry a whole one.
  expect((outcome.error as KeyPoolError).message).not.toMatch(/kp_[A-Za-z0-9_-]{24}/);
  return outcome.error as KeyPoolError;
}

/** Generates one key and returns it. */
export async function oneKey(store: KeyStore): Promise<string> {
  const [info] = await store.generate(1);
  return info!.key;
}
