import { expect } from "vitest";
import { ManualClock } from "../../../src/clock.js";
import { KeyPoolError } from "../../../src/pool/index.js";
import type { KeyPoolErrorCode } from "../../../src/pool/index.js";
import { seededRandom } from "../../../src/random.js";
import type { KeyStore } from "../../../src/store/key-store.js";
import type { StoreFactory, StoreSettings, StoreUnderTest } from "../harness.js";

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
  /** Disposes of this store now rather than after the test. Idempotent. */
  cleanup(): Promise<void>;
}

/** What every conformance group gets: a way to open fresh stores, all cleaned up after the test. */
export interface ConformanceContext {
  /** Opens a fresh, empty store (defaults above, `overrides` on top). O(1) stores per call. */
  open(overrides?: Partial<Pick<StoreSettings, "blockTtlMs" | "keepaliveTtlMs" | "maxKeys" | "maxLeaseMs">>): Promise<Opened>;
}

/**
 * Builds the context for one suite: `open` calls `factory` with a fresh ManualClock and a seeded
 * Random; `cleanupAll` (run after each test) disposes of every store opened since.
 */
export function makeContext(factory: StoreFactory): ConformanceContext & { cleanupAll(): Promise<void> } {
  let opened: StoreUnderTest[] = [];
  let seed = 1;
  return {
    async open(overrides = {}) {
      const clock = new ManualClock();
      const settings: StoreSettings = {
        blockTtlMs: BLOCK_MS,
        keepaliveTtlMs: LIFE_MS,
        maxKeys: MAX_KEYS,
        ...overrides,
        clock,
        random: seededRandom(seed++),
      };
      const sut = await factory(settings);
      opened.push(sut);
      const cleanup = async (): Promise<void> => {
        if (!opened.includes(sut)) return;
        opened = opened.filter((o) => o !== sut);
        await sut.cleanup();
      };
      return { store: sut.store, clock, cleanup };
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
