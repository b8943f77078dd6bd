import { expect, test } from "vitest";
import { BLOCK_MS, LIFE_MS, UNKNOWN_KEY, expectCode } from "./context.js";
import type { ConformanceContext } from "./context.js";

/** DeleteKey (E4): purges a key in any state, for good. */
export function deleteTests(ctx: ConformanceContext): void {
  test("delete: a free key is gone for every method", async () => {
    const { store } = await ctx.open();
    const [made] = await store.generate(1);
    await store.delete(made!.key);
    await expectCode(store.get(made!.key), "not-found");
    await expectCode(store.keepAlive(made!.key), "not-found");
    await expectCode(store.release(made!.key), "not-found");
    await expectCode(store.delete(made!.key), "not-found");
    await expectCode(store.acquire(), "not-found");
    expect(await store.keepAliveMany([made!.key])).toEqual([{ key: made!.key, found: false }]);
    expect(await store.stats()).toMatchObject({ total: 0, free: 0, blocked: 0 });
  });

  test("delete: a blocked key is gone, and its pending auto-release never brings it back", async () => {
    const { store, clock } = await ctx.open();
    await store.generate(1);
    const got = await store.acquire();
    await store.delete(got.key);
    expect(await store.stats()).toMatchObject({ total: 0, free: 0, blocked: 0 });
    for (const step of [BLOCK_MS - 1, 1, 1, BLOCK_MS]) {
      clock.advance(step);
      await expectCode(store.acquire(), "not-found");
      await expectCode(store.get(got.key), "not-found");
      await expectCode(store.release(got.key, got.leaseId), "not-found");
      expect(await store.stats()).toMatchObject({ total: 0, free: 0, blocked: 0 });
    }
  });

  test("delete: leaves the other keys as they were", async () => {
    const { store } = await ctx.open();
    const [a, b] = await store.generate(2);
    await store.delete(a!.key);
    expect(await store.get(b!.key)).toEqual(b);
    expect((await store.acquire()).key).toBe(b!.key);
  });

  test("delete: unknown and dead keys are NOT_FOUND; a malformed key is INVALID_ARGUMENT", async () => {
    const { store, clock } = await ctx.open();
    const [made] = await store.generate(1);
    await expectCode(store.delete(UNKNOWN_KEY), "not-found");
    await expectCode(store.delete("kp_shrt"), "invalid-argument");
    await expectCode(store.delete(""), "invalid-argument");
    clock.advance(LIFE_MS);
    await expectCode(store.delete(made!.key), "not-found");
  });
}
