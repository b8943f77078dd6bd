import { describe, expect, it } from "vitest";
import type { KeyPool } from "../../src/pool/index.js";
import { seededRandom } from "../../src/random.js";
import { BLOCK_TTL, KEEPALIVE_TTL, T0, errorOf, makePool, outcome, scriptedRandom } from "./pool-fixtures.js";

const LEASE_SHAPE = /^[A-Za-z0-9_-]{24}$/;

/** Chi-square critical values at p = 0.001, by degrees of freedom. */
const CHI2_CRITICAL_P001: Record<number, number> = { 19: 43.82, 39: 72.05 };

/** Acquires and releases `cycles` times at T0; returns how often each key was handed out. */
function acquireReleaseCounts(pool: KeyPool, cycles: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < cycles; i++) {
    const got = pool.acquire(T0);
    counts.set(got.key, (counts.get(got.key) ?? 0) + 1);
    pool.release(got.key, got.leaseId, T0);
  }
  return counts;
}

/** Pearson's chi-square statistic of `counts` against a uniform spread over `keys`. */
function chiSquare(counts: Map<string, number>, keys: readonly string[], cycles: number): number {
  const expected = cycles / keys.length;
  return keys.reduce((sum, key) => sum + ((counts.get(key) ?? 0) - expected) ** 2 / expected, 0);
}

describe("KeyPool.acquire", () => {
  it("blocks the key for one block TTL under a fresh 24-character lease id, leaving its life alone", () => {
    const pool = makePool();
    const [created] = pool.generate(1, T0);
    const got = pool.acquire(T0 + 10);
    expect(got).toEqual({
      key: created!.key, state: "blocked", leaseId: got.leaseId, blockedUntil: T0 + 10 + BLOCK_TTL,
      createdAt: T0, expiresAt: T0 + KEEPALIVE_TTL, fencingToken: 1, acquiredAt: T0 + 10,
    });
    expect(got.leaseId).toMatch(LEASE_SHAPE);
    pool.release(got.key, got.leaseId, T0 + 20);
    const again = pool.acquire(T0 + 30);
    expect(again.key).toBe(got.key);
    expect(again.leaseId).toMatch(LEASE_SHAPE);
    expect(again.leaseId).not.toBe(got.leaseId);
    expect(again).toMatchObject({ fencingToken: 2, acquiredAt: T0 + 30 });
  });

  it("never hands out a blocked key while it is blocked, then answers NOT_FOUND", () => {
    const pool = makePool();
    const keys = pool.generate(5, T0).map((k) => k.key);
    const handedOut = Array.from({ length: 5 }, () => pool.acquire(T0).key);
    expect(new Set(handedOut)).toEqual(new Set(keys));
    const err = errorOf(() => pool.acquire(T0 + BLOCK_TTL - 1));
    expect(err.code).toBe("not-found");
    expect(err.message).toMatch(/^no free key: all 5 keys are blocked; release keys or generate more$/);
    expect(outcome(() => pool.acquire(T0 + BLOCK_TTL))).toBe("ok");
  });

  it("answers NOT_FOUND from an empty pool, telling the caller to generate keys", () => {
    const err = errorOf(() => makePool().acquire(T0));
    expect(err.code).toBe("not-found");
    expect(err.message).toBe("no free key: the pool holds no keys; generate or import keys first");
  });

  it("asks the injected Random to pick among exactly the free keys", () => {
    const random = scriptedRandom([]);
    const pool = makePool({}, random);
    pool.generate(5, T0);
    const first = pool.acquire(T0);
    pool.acquire(T0);
    pool.release(first.key, undefined, T0);
    pool.acquire(T0);
    expect(random.bounds).toEqual([5, 4, 4]);
  });

  it("hands out the key the injected Random picks, so a pick decides which worker gets which key", () => {
    const run = (picks: number[]) => {
      const pool = makePool({}, scriptedRandom(picks));
      pool.generate(5, T0);
      return [pool.acquire(T0).key, pool.acquire(T0).key, pool.acquire(T0).key];
    };
    expect(run([0, 0, 0])).toEqual(run([0, 0, 0]));
    expect(run([4, 3, 2])).toEqual(run([4, 3, 2]));
    expect(new Set([...run([0, 0, 0]), ...run([4, 3, 2])]).size).toBeGreaterThan(3);
    for (const picks of [[0, 0, 0, 0, 0], [4, 3, 2, 1, 0], [2, 2, 2, 1, 0]]) {
      const pool = makePool({}, scriptedRandom(picks));
      pool.generate(5, T0);
      expect(new Set(picks.map(() => pool.acquire(T0).key)).size).toBe(5);
    }
  });

  it("spreads acquisitions uniformly over free keys (chi-square, 20 keys, 40,000 cycles)", () => {
    const pool = makePool({}, seededRandom(42));
    const keys = pool.generate(20, T0).map((k) => k.key);
    const counts = acquireReleaseCounts(pool, 40_000);
    expect(counts.size).toBe(20);
    expect(chiSquare(counts, keys, 40_000)).toBeLessThan(CHI2_CRITICAL_P001[19]!);
  });

  it("hands out the key just released no more often than any other (no hot key)", () => {
    const pool = makePool({}, seededRandom(45));
    pool.generate(20, T0);
    let repeats = 0;
    let last = "";
    for (let i = 0; i < 40_000; i++) {
      const got = pool.acquire(T0);
      if (got.key === last) repeats++;
      last = got.key;
      pool.release(got.key, got.leaseId, T0);
    }
    // Binomial(40,000, 1/20): mean 2,000, standard deviation 43.6; allow five deviations.
    expect(Math.abs(repeats - 2000)).toBeLessThan(5 * 43.6);
  });

  it("spreads acquisitions uniformly over the keys nobody holds, never touching held ones", () => {
    const pool = makePool({}, seededRandom(43));
    pool.generate(60, T0);
    const held = new Set(Array.from({ length: 20 }, () => pool.acquire(T0).key));
    const counts = acquireReleaseCounts(pool, 40_000);
    const free = [...counts.keys()];
    expect(free).toHaveLength(40);
    for (const key of free) expect(held.has(key)).toBe(false);
    expect(chiSquare(counts, free, 40_000)).toBeLessThan(CHI2_CRITICAL_P001[39]!);
  });

  it("spreads acquisitions uniformly after keys were deleted and expired around the pool", () => {
    const pool = makePool({}, seededRandom(44));
    const early = pool.generate(30, T0).map((k) => k.key);
    const late = pool.generate(30, T0 + 1000).map((k) => k.key);
    for (const key of late.slice(0, 10)) pool.delete(key, T0 + 1000);
    const now = T0 + KEEPALIVE_TTL; // every early key is dead now, the late ones are not
    const counts = new Map<string, number>();
    for (let i = 0; i < 40_000; i++) {
      const got = pool.acquire(now);
      counts.set(got.key, (counts.get(got.key) ?? 0) + 1);
      pool.release(got.key, got.leaseId, now);
    }
    const alive = late.slice(10);
    expect(new Set(counts.keys())).toEqual(new Set(alive));
    expect(early.some((key) => counts.has(key))).toBe(false);
    expect(chiSquare(counts, alive, 40_000)).toBeLessThan(CHI2_CRITICAL_P001[19]!);
  });
});
