import { expect, test } from "vitest";
import { BLOCK_MS, LIFE_MS, MAX_KEYS } from "./context.js";
import type { ConformanceContext } from "./context.js";

/** GetPoolStats: exact counts of live keys, and the pool's settings. */
export function statsTests(ctx: ConformanceContext): void {
  test("stats: an empty pool reports zero keys and its TTLs and capacity", async () => {
    const { store } = await ctx.open();
    expect(await store.stats()).toEqual({
      total: 0,
      free: 0,
      blocked: 0,
      blockTtlMs: BLOCK_MS,
      keepaliveTtlMs: LIFE_MS,
      maxKeys: MAX_KEYS,
    });
  });

  test("stats: counts follow generate, acquire, release, delete, auto-release and expiry", async () => {
    const { store, clock } = await ctx.open();
    const made = await store.generate(6);
    const [a, b, c] = [await store.acquire(), await store.acquire(), await store.acquire()];
    expect(await store.stats()).toMatchObject({ total: 6, free: 3, blocked: 3 });
    await store.release(a.key, a.leaseId);
    expect(await store.stats()).toMatchObject({ total: 6, free: 4, blocked: 2 });
    await store.delete(b.key);
    expect(await store.stats()).toMatchObject({ total: 5, free: 4, blocked: 1 });
    const idle = made.find((k) => ![a.key, b.key, c.key].includes(k.key))!;
    await store.delete(idle.key);
    expect(await store.stats()).toMatchObject({ total: 4, free: 3, blocked: 1 });
    clock.advance(BLOCK_MS);
    expect(await store.stats()).toMatchObject({ total: 4, free: 4, blocked: 0 });
    clock.set(made[0]!.expiresAt);
    expect(await store.stats()).toMatchObject({ total: 0, free: 0, blocked: 0 });
  });

  test("settings: the store reports the pool's rules without a call, the same as stats", async () => {
    const { store } = await ctx.open({ blockTtlMs: 7_000, keepaliveTtlMs: 90_000, maxKeys: 40 });
    expect(store.settings).toEqual({ blockTtlMs: 7_000, keepaliveTtlMs: 90_000, maxKeys: 40 });
    expect(await store.stats()).toMatchObject(store.settings);
  });

  test("stats: reading them changes nothing", async () => {
    const { store } = await ctx.open();
    const [made] = await store.generate(1);
    for (let i = 0; i < 3; i++) await store.stats();
    expect(await store.get(made!.key)).toEqual(made);
  });
}
