import { expect, test } from "vitest";
import { BLOCK_MS, LIFE_MS, MAX_KEYS } from "./context.js";
import type { ConformanceContext } from "./context.js";

/** The documented default --max-cooldown. */
const HOUR_MS = 3_600_000;

/** GetPoolStats: exact counts of live keys, and the pool's settings. */
export function statsTests(ctx: ConformanceContext): void {
  test("stats: an empty pool reports zero keys and its TTLs and capacity", async () => {
    const { store } = await ctx.open();
    expect(await store.stats()).toEqual({
      total: 0,
      free: 0,
      blocked: 0,
      cooling: 0,
      blockTtlMs: BLOCK_MS,
      keepaliveTtlMs: LIFE_MS,
      maxKeys: MAX_KEYS,
      maxCooldownMs: HOUR_MS,
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
    expect(store.settings).toEqual({ blockTtlMs: 7_000, keepaliveTtlMs: 90_000, maxKeys: 40, maxCooldownMs: HOUR_MS });
    expect(await store.stats()).toMatchObject(store.settings);
  });

  test("stats: total counts live keys only, also just after more keys died at once than one call reclaims", async () => {
    const { store, clock } = await ctx.open({ maxKeys: 1_000 });
    const dying = await store.generate(1_000);
    clock.advance(LIFE_MS / 2);
    const kept = dying.slice(0, 100).map((k) => k.key);
    expect((await store.keepAliveMany(kept)).every((r) => r.found)).toBe(true);
    clock.set(dying[0]!.expiresAt);
    expect(await store.stats()).toMatchObject({ total: 100, free: 100, blocked: 0 });
    expect((await store.generate(900)).length).toBe(900); // the dead keys' room is free again
  });

  if (ctx.capabilities.samePool) {
    test("settings: two stores serving one pool report the same settings", async () => {
      const first = await ctx.open({ blockTtlMs: 7_000, keepaliveTtlMs: 90_000, maxKeys: 40 });
      const second = await ctx.openSamePool(first, { blockTtlMs: 7_000, keepaliveTtlMs: 90_000, maxKeys: 40 });
      expect(second.store.settings).toEqual(first.store.settings);
      expect(await second.store.stats()).toEqual(await first.store.stats());
    });
  }

  test("stats: reading them changes nothing", async () => {
    const { store } = await ctx.open();
    const [made] = await store.generate(1);
    for (let i = 0; i < 3; i++) await store.stats();
    expect(await store.get(made!.key)).toEqual(made);
  });
}
