import { expect, test } from "vitest";
import { BLOCK_MS, LIFE_MS, UNKNOWN_KEY, expectCode } from "./context.js";
import type { ConformanceContext } from "./context.js";

/** KeepAliveKey and the KeepAlive stream's batches (E5): life moves, the block never does. */
export function keepAliveTests(ctx: ConformanceContext): void {
  test("keepAlive: sets the life to now + keepalive TTL, and the key outlives its first deadline", async () => {
    const { store, clock } = await ctx.open();
    const [made] = await store.generate(1);
    clock.advance(LIFE_MS - 1);
    const kept = await store.keepAlive(made!.key);
    expect(kept).toEqual({ ...made, expiresAt: clock.now() + LIFE_MS });
    clock.set(made!.expiresAt);
    expect(await store.get(made!.key)).toEqual(kept);
    clock.set(kept.expiresAt - 1);
    expect((await store.acquire()).key).toBe(made!.key);
    clock.advance(1);
    await expectCode(store.get(made!.key), "not-found");
  });

  test("keepAlive: a blocked key stays blocked, under the same lease, until the same instant", async () => {
    const { store, clock } = await ctx.open();
    await store.generate(1);
    const got = await store.acquire();
    clock.advance(BLOCK_MS / 2);
    const kept = await store.keepAlive(got.key);
    expect(kept).toEqual({ ...got, expiresAt: clock.now() + LIFE_MS });
    await expectCode(store.acquire(), "not-found");
    clock.set(got.blockedUntil! - 1);
    expect(await store.get(got.key)).toEqual(kept);
    clock.advance(1);
    expect((await store.get(got.key)).state).toBe("free");
  });

  test("keepAlive: unknown, deleted and dead keys are NOT_FOUND, never revived; malformed is INVALID_ARGUMENT", async () => {
    const { store, clock } = await ctx.open();
    const [gone, dead] = await store.generate(2);
    await store.delete(gone!.key);
    await expectCode(store.keepAlive(UNKNOWN_KEY), "not-found");
    await expectCode(store.keepAlive(gone!.key), "not-found");
    await expectCode(store.keepAlive(`${dead!.key} `), "invalid-argument");
    clock.advance(LIFE_MS);
    await expectCode(store.keepAlive(dead!.key), "not-found");
    await expectCode(store.get(dead!.key), "not-found");
  });

  test("keepAliveMany: one result per key, in order, found or not, free or blocked", async () => {
    // A block longer than a life, so the blocked key is still blocked when the batch comes.
    const { store, clock } = await ctx.open({ blockTtlMs: 2 * LIFE_MS });
    const [blocked] = await store.generate(1);
    const got = await store.acquire();
    const [free, gone, dead] = await store.generate(3);
    clock.advance(LIFE_MS - 10);
    for (const k of [free, blocked, gone]) await store.keepAlive(k!.key);
    await store.delete(gone!.key);
    clock.advance(10);
    const life = clock.now() + LIFE_MS;
    const names = [free!.key, UNKNOWN_KEY, blocked!.key, gone!.key, dead!.key, free!.key];
    expect(await store.keepAliveMany(names)).toEqual([
      { key: free!.key, found: true, expiresAt: life },
      { key: UNKNOWN_KEY, found: false },
      { key: blocked!.key, found: true, expiresAt: life },
      { key: gone!.key, found: false },
      { key: dead!.key, found: false },
      { key: free!.key, found: true, expiresAt: life },
    ]);
    expect(await store.get(free!.key)).toMatchObject({ state: "free", expiresAt: life });
    expect(await store.get(blocked!.key)).toEqual({ ...got, expiresAt: life });
    expect(await store.keepAliveMany([])).toEqual([]);
  });

  test("keepAliveMany: one malformed key rejects the whole batch with INVALID_ARGUMENT, nothing changed", async () => {
    const { store, clock } = await ctx.open();
    const [a, b] = await store.generate(2);
    clock.advance(1_000);
    for (const bad of ["", "kp_x", `${b!.key.slice(0, -1)} `]) {
      const err = await expectCode(store.keepAliveMany([a!.key, bad, b!.key]), "invalid-argument");
      expect(err.message).toMatch(/keys\[1\]/);
    }
    expect(await store.get(a!.key)).toEqual(a);
    expect(await store.get(b!.key)).toEqual(b);
  });
}
