import { expect, test } from "vitest";
import type { KeyInfo } from "../../../src/pool/index.js";
import type { ConformanceContext } from "./context.js";

/** Free keys the pick is spread over, and draws per key on average. */
const KEYS = 1_000;
const DRAWS_PER_KEY = 20;
/** Acquires in flight at once: each round is a draw of that many keys without replacement. */
const ROUND = 10;
/** The standard normal quantile of 0.999: the test fails a uniform pick once in 1,000 seeds. */
const Z_999 = 3.090232;

/**
 * The chi-square critical value for `df` degrees of freedom at the quantile of `z`, by the
 * Wilson-Hilferty approximation (within 0.1 % of the exact value for df above 100).
 */
export function chiSquareCritical(df: number, z: number): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** Pearson's chi-square statistic of `counts` against the same expectation for each. */
export function chiSquare(counts: readonly number[]): number {
  const expected = counts.reduce((sum, n) => sum + n, 0) / counts.length;
  return counts.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
}

/**
 * AcquireKey picks a uniformly random free key: 1,000 free keys, 20,000 draws, the per-key counts
 * checked with a chi-square test at 99.9 %. Draws come in rounds of 10 acquires in flight, then
 * their releases: a round is a uniform 10-subset, whose counts vary 1 % less than independent
 * draws, so the multinomial critical value is slightly conservative. The stores' seeded Random
 * makes the outcome the same on every run.
 */
export function uniformityTests(ctx: ConformanceContext): void {
  test("acquire: the pick is uniform over 1,000 free keys (chi-square, 20,000 draws, 99.9 %)", async () => {
    const { store } = await ctx.open({ maxKeys: KEYS });
    const made: KeyInfo[] = [];
    while (made.length < KEYS) made.push(...(await store.generate(Math.min(1_000, KEYS - made.length))));
    const hits = new Map(made.map((k) => [k.key, 0]));
    for (let round = 0; round < (KEYS * DRAWS_PER_KEY) / ROUND; round++) {
      const got = await Promise.all(Array.from({ length: ROUND }, () => store.acquire()));
      for (const k of got) hits.set(k.key, hits.get(k.key)! + 1);
      await Promise.all(got.map((k) => store.release(k.key, k.leaseId)));
    }
    expect(hits.size).toBe(KEYS);
    const statistic = chiSquare([...hits.values()]);
    expect(statistic).toBeLessThan(chiSquareCritical(KEYS - 1, Z_999));
  }, 60_000);
}
