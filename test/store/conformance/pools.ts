import { expect, test } from "vitest";
import type { KeyInfo } from "../../../src/pool/index.js";
import { expectCode } from "./context.js";
import type { ConformanceContext } from "./context.js";
import { chiSquare, chiSquareCritical } from "./uniformity.js";

/** The standard normal quantile of 0.999, as the uniformity test. */
const Z_999 = 3.090232;

/**
 * Named pools (a server's PoolSet): a key is addressed by (pool, key), so keys of one pool are
 * invisible from another; "" is the default pool; each pool picks uniformly among its own keys.
 * Runs where the store declares `capabilities.poolSet`.
 */
export function poolTests(ctx: ConformanceContext): void {
  if (!ctx.capabilities.poolSet) return;

  test("pools: keys of one pool are invisible from another, which acquires, lists and counts only its own", async () => {
    const { pools } = await ctx.openPools();
    const a = pools.pool("alpha", true);
    const b = pools.pool("beta", true);
    const made = await a.generate(5);
    await b.import(["beta-secret-0001"]);
    for (const { key } of made) {
      await expectCode(b.get(key), "not-found");
      await expectCode(b.release(key), "not-found");
      await expectCode(b.delete(key), "not-found");
      expect(await b.keepAliveMany([key])).toEqual([{ key, found: false }]);
    }
    expect((await b.acquire()).key).toBe("beta-secret-0001");
    await expectCode(b.acquire(), "not-found");
    expect((await b.list({ pageSize: 10, pageToken: "" })).keys.map((k) => k.key)).toEqual(["beta-secret-0001"]);
    expect(await a.stats()).toMatchObject({ total: 5, free: 5 });
    expect(await b.stats()).toMatchObject({ total: 1, blocked: 1 });
    expect(pools.poolNames()).toEqual(expect.arrayContaining(["home", "alpha", "beta"]));
  });

  test("pools: one secret in two pools is two keys with leases of their own; \"\" is the default pool", async () => {
    const { pools } = await ctx.openPools();
    const a = pools.pool("alpha", true);
    const home = pools.pool("", true);
    expect(pools.pool("home", false)).toBe(home);
    await a.import(["shared-secret-1"]);
    await home.import(["shared-secret-1"]);
    const fromA = await a.acquire();
    const fromHome = await home.acquire();
    expect(fromA.key).toBe(fromHome.key);
    await a.release(fromA.key, fromA.leaseId, 5_000);
    expect((await home.get(fromHome.key)).state).toBe("blocked");
    expect((await a.get(fromA.key)).state).toBe("cooling");
  });

  test("pools: an unknown pool answers as an empty one and reads add nothing; a malformed name is INVALID_ARGUMENT", async () => {
    const { pools } = await ctx.openPools();
    const ghost = pools.pool("ghost", false);
    await expectCode(ghost.acquire(), "not-found");
    await expectCode(ghost.get("some-secret-key"), "not-found");
    expect(await ghost.stats()).toMatchObject({ total: 0, free: 0, blocked: 0, cooling: 0 });
    expect(await ghost.list({ pageSize: 10, pageToken: "" })).toEqual({ keys: [], nextPageToken: "" });
    // Reading made no keys: the pool is still empty once made by a write.
    expect(await pools.pool("ghost", true).stats()).toMatchObject({ total: 0 });
    for (const bad of ["Upper", "with space", "x".repeat(65), "a{b}"]) expect(() => pools.pool(bad, true), bad).toThrow(/pool name/);
  });

  test("pools: freed keys are announced with their pool's name", async () => {
    const { pools } = await ctx.openPools();
    const heard: string[] = [];
    const off = pools.onKeysFreed((pool) => heard.push(pool));
    try {
      const a = pools.pool("alpha", true);
      await a.generate(1);
      const got = await a.acquire();
      await a.release(got.key, got.leaseId);
      await expect.poll(() => heard.includes("alpha")).toBe(true);
      expect(heard.every((p) => p === "alpha" || p === "home")).toBe(true);
    } finally {
      off();
    }
  });

  test("pools: each pool picks uniformly among its own free keys (chi-square per pool, 99.9 %)", async () => {
    const { pools } = await ctx.openPools();
    const [a, b] = [pools.pool("alpha", true), pools.pool("beta", true)];
    const own = [new Set((await a.generate(200)).map((k) => k.key)), new Set((await b.generate(100)).map((k) => k.key))];
    for (const [i, store] of [a, b].entries()) {
      const hits = new Map([...own[i]!].map((k) => [k, 0]));
      for (let round = 0; round < (hits.size * 20) / 10; round++) {
        const got: KeyInfo[] = await Promise.all(Array.from({ length: 10 }, () => store.acquire()));
        for (const k of got) {
          expect(own[i]!.has(k.key), "a key of this pool").toBe(true);
          hits.set(k.key, hits.get(k.key)! + 1);
        }
        await Promise.all(got.map((k) => store.release(k.key, k.leaseId)));
      }
      expect(chiSquare([...hits.values()])).toBeLessThan(chiSquareCritical(hits.size - 1, Z_999));
    }
  }, 60_000);
}
