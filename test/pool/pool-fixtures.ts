import { expect } from "vitest";
import { KeyPool, KeyPoolError } from "../../src/pool/index.js";
import type { KeyPoolErrorCode, PoolOptions } from "../../src/pool/index.js";
import { seededRandom, type Random } from "../../src/random.js";

/** The instant every pool test starts at (ms since the epoch); tests pass `now` explicitly. */
export const T0 = 1_700_000_000_000;
/** Block TTL of the test pools. */
export const BLOCK_TTL = 60_000;
/** Keepalive TTL of the test pools. */
export const KEEPALIVE_TTL = 300_000;

/** The URL-safe base64 alphabet keys and lease ids are drawn from. */
export const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** A well-formed lease id no pool ever issued in these tests. */
export const FOREIGN_LEASE = "L".repeat(24);
/** A well-formed key no pool ever issued in these tests. */
export const UNKNOWN_KEY = `kp_${"U".repeat(24)}`;

/** A pool with the test TTLs, seeded randomness and room for 1000 keys unless told otherwise. */
export function makePool(options: Partial<PoolOptions> = {}, random: Random = seededRandom(1)): KeyPool {
  return new KeyPool({ blockTtlMs: BLOCK_TTL, keepaliveTtlMs: KEEPALIVE_TTL, maxKeys: 1000, ...options }, random);
}

/** What a call ended with: "ok" or the pool's error code. Any other throw fails the test. */
export function outcome(call: () => unknown): "ok" | KeyPoolErrorCode {
  try {
    call();
    return "ok";
  } catch (err) {
    if (err instanceof KeyPoolError) return err.code;
    throw err;
  }
}

/** The KeyPoolError `call` throws; fails the test when it returns instead. */
export function errorOf(call: () => unknown): KeyPoolError {
  try {
    call();
  } catch (err) {
    if (err instanceof KeyPoolError) return err;
    throw err;
  }
  expect.fail("expected a KeyPoolError, but the call succeeded");
}

/** A well-formed key whose random part is `head` followed by characters drawn from `random`. */
export function keyStartingWith(head: string, random: Random): string {
  let s = `kp_${head}`;
  while (s.length < 27) s += ALPHABET[random.int(64)];
  return s;
}

/**
 * A `Random` that answers `int` from a script (then falls back to `fallback`) and records every
 * bound it was asked for; `fill` comes from `fallback`.
 */
export function scriptedRandom(script: number[], fallback: Random = seededRandom(7)): Random & { bounds: number[] } {
  const bounds: number[] = [];
  const picks = [...script];
  return {
    bounds,
    int(bound) {
      bounds.push(bound);
      const next = picks.shift();
      return next === undefined ? fallback.int(bound) : next;
    },
    fill: (bytes) => fallback.fill(bytes),
  };
}
