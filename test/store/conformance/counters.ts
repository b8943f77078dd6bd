import { expect, test } from "vitest";
import { UNKNOWN_KEY, expectCode } from "./context.js";
import type { ConformanceContext } from "./context.js";

const ZERO = { generated: 0, acquired: 0, released: 0, autoReleased: 0, expired: 0, deleted: 0, acquireMisses: 0 };

/**
 * `counters()`: ONE definition on every store (see KeyStore.counters): what THIS store did since
 * it opened, each event counted once, starting at zero; a shared pool's figure is the sum over
 * its servers.
 */
export function counterTests(ctx: ConformanceContext): void {
  test("counters: start at zero and count each event this store carried out, once", async () => {
    const { store, clock } = await ctx.open({ blockTtlMs: 1_000, keepaliveTtlMs: 10_000 });
    expect(store.counters()).toEqual(ZERO);
    const made = await store.generate(4);
    const [a, b] = [await store.acquire(), await store.acquire()];
    await store.release(a.key, a.leaseId);
    const idle = made.find((k) => k.key !== a.key && k.key !== b.key)!;
    await store.delete(idle.key);
    clock.advance(1_000);
    expect(await store.get(b.key)).toMatchObject({ state: "free" }); // its block ended: an automatic release
    const rest = [await store.acquire(), await store.acquire(), await store.acquire()];
    await expectCode(store.acquire(), "not-found");
    for (const held of rest) await store.release(held.key, held.leaseId);
    expect(store.counters()).toEqual({ ...ZERO, generated: 4, acquired: 5, released: 4, deleted: 1, autoReleased: 1, acquireMisses: 1 });
    clock.advance(10_000);
    expect(await store.stats()).toMatchObject({ total: 0 });
    expect(store.counters()).toMatchObject({ expired: 3 });
  });

  test("counters: reading them, stats and failed calls change nothing", async () => {
    const { store } = await ctx.open();
    const [made] = await store.generate(1);
    const before = store.counters();
    await store.stats();
    await store.get(made!.key);
    await expectCode(store.get("not a key"), "invalid-argument");
    await expectCode(store.delete(UNKNOWN_KEY), "not-found");
    expect(store.counters()).toEqual(before);
  });
}
