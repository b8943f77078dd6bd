import { describe, expect, it } from "vitest";
import { DEFAULT_CATCH_UP_BUDGET, MAX_GENERATE, type KeyPool } from "../../src/pool/index.js";
import { BLOCK_TTL, KEEPALIVE_TTL, T0, errorOf, makePool, outcome } from "./pool-fixtures.js";

const MANY = 100_000;
const BUDGET = DEFAULT_CATCH_UP_BUDGET;
/** Acquire may spend the catch-up budget plus four budgets of picks. */
const ACQUIRE_WORK = 5 * BUDGET;

/** A pool of MANY keys generated at T0, all dying at T0 + KEEPALIVE_TTL. */
function fullPool(): { pool: KeyPool; keys: string[] } {
  const pool = makePool({ maxKeys: MANY });
  const keys: string[] = [];
  for (let i = 0; i < MANY / MAX_GENERATE; i++) for (const k of pool.generate(MAX_GENERATE, T0)) keys.push(k.key);
  return { pool, keys };
}

/** How far `pool.size` dropped during `call`: the dead keys it reclaimed. */
function reclaimedBy(pool: KeyPool, call: () => unknown): number {
  const before = pool.size;
  outcome(call);
  return before - pool.size;
}

describe("bounded work per request", () => {
  it("answers every request after 100,000 keys expire at once with a bounded amount of work", () => {
    const { pool, keys } = fullPool();
    const death = T0 + KEEPALIVE_TTL;
    expect(reclaimedBy(pool, () => pool.stats(death))).toBeLessThanOrEqual(BUDGET);
    expect(reclaimedBy(pool, () => pool.acquire(death))).toBeLessThanOrEqual(ACQUIRE_WORK);
    expect(reclaimedBy(pool, () => pool.get(keys[MANY - 1]!, death))).toBe(1);
    expect(reclaimedBy(pool, () => pool.keepAlive(keys[MANY - 2]!, death))).toBe(1);
    expect(reclaimedBy(pool, () => pool.release(keys[MANY - 3]!, undefined, death))).toBe(1);
    expect(reclaimedBy(pool, () => pool.delete(keys[MANY - 4]!, death))).toBe(1);
    expect(pool.size).toBeGreaterThan(MANY - 2 * ACQUIRE_WORK);
  });

  it("answers after 100,000 cooldowns end at once with a bounded amount of work, and the rest is the sweeper's", () => {
    const pool = makePool({ maxKeys: MANY, maxCooldownMs: 10_000 });
    for (let i = 0; i < MANY / MAX_GENERATE; i++) for (const k of pool.generate(MAX_GENERATE, T0)) pool.release(k.key, undefined, T0, 10_000);
    expect(pool.stats(T0)).toMatchObject({ free: 0, cooling: MANY });
    const due = T0 + 10_000;
    expect(pool.acquire(due).state).toBe("blocked");
    expect(pool.stats(due).cooling).toBeGreaterThan(MANY - ACQUIRE_WORK - BUDGET - 1);
    expect(pool.sweep(due, MANY)).toBeGreaterThan(MANY - ACQUIRE_WORK - 2 * BUDGET - 1);
    expect(pool.stats(due)).toMatchObject({ free: MANY - 1, cooling: 0, blocked: 1 });
  });

  it("asks the caller to retry while a mass expiry is being reclaimed, and finds nothing after", () => {
    const { pool } = fullPool();
    const death = T0 + KEEPALIVE_TTL;
    const err = errorOf(() => pool.acquire(death));
    expect(err.code).toBe("unavailable");
    expect(err.message).toMatch(/retry/);
    let sweeps = 0;
    for (let done = pool.sweep(death, 4096); done > 0; done = pool.sweep(death, 4096)) {
      expect(done).toBeLessThanOrEqual(4096);
      sweeps++;
    }
    expect(sweeps).toBeGreaterThanOrEqual(Math.floor(MANY / 4096) - 1);
    expect(pool.size).toBe(0);
    expect(pool.stats(death)).toMatchObject({ total: 0, free: 0, blocked: 0 });
    expect(outcome(() => pool.acquire(death))).toBe("not-found");
  });

  it("never sweeps more than the budget it is given", () => {
    const { pool } = fullPool();
    for (const budget of [0, 1, 17, 1000]) {
      expect(reclaimedBy(pool, () => expect(pool.sweep(T0 + KEEPALIVE_TTL, budget)).toBe(budget))).toBe(budget);
    }
  });

  it("makes room for a full batch in a pool full of dead keys", () => {
    const { pool } = fullPool();
    expect(pool.generate(MAX_GENERATE, T0 + KEEPALIVE_TTL)).toHaveLength(MAX_GENERATE);
    expect(pool.size).toBeLessThanOrEqual(MANY);
  });

  it("keeps handing out keys when 100,000 blocks end at the same instant", () => {
    const { pool } = fullPool();
    for (let i = 0; i < MANY; i++) pool.acquire(T0);
    const end = T0 + BLOCK_TTL;
    expect(MANY - pool.stats(end).blocked).toBeLessThanOrEqual(BUDGET);
    const handedOut = new Set<string>();
    for (let i = 0; i < 1000; i++) handedOut.add(pool.acquire(end).key);
    expect(handedOut.size).toBe(1000);
    expect(pool.size).toBe(MANY);
  });

  it("never answers NOT_FOUND while a key whose block ended is waiting, even on a budget of one", () => {
    const pool = makePool({ catchUpBudget: 1 });
    pool.generate(1000, T0);
    for (let i = 0; i < 1000; i++) pool.acquire(T0);
    const handedOut = new Set(Array.from({ length: 1000 }, () => pool.acquire(T0 + BLOCK_TTL).key));
    expect(handedOut.size).toBe(1000);
    expect(outcome(() => pool.acquire(T0 + BLOCK_TTL))).toBe("not-found");
  });

  it("reaches a live key whose block ended behind dead ones, answering UNAVAILABLE until then, never NOT_FOUND", () => {
    const pool = makePool({ catchUpBudget: 2 });
    pool.generate(200, T0);
    const start = T0 + KEEPALIVE_TTL - BLOCK_TTL;
    const [live] = pool.generate(1, start);
    for (let i = 0; i < 201; i++) pool.acquire(start);
    const end = T0 + KEEPALIVE_TTL; // every block ends; every key but `live` dies
    const answers: string[] = [];
    while (answers.at(-1) !== "ok" && answers.length < 201) answers.push(outcome(() => pool.acquire(end)));
    expect(answers.length).toBeGreaterThan(1);
    expect(answers.at(-1)).toBe("ok");
    expect(answers.slice(0, -1).every((a) => a === "unavailable")).toBe(true);
    expect(pool.get(live!.key, end).state).toBe("blocked");
  });
});
