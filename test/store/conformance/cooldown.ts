import { expect, test } from "vitest";
import { DEFAULT_MAX_COOLDOWN_MS, REFUSALS } from "../../../src/pool/index.js";
import { AcquireQueue } from "../../../src/store/acquire-queue.js";
import { eventually } from "../../support/eventually.js";
import { LIFE_MS, expectCode, oneKey } from "./context.js";
import type { ConformanceContext } from "./context.js";

/** ReleaseKey with a cooldown: COOLING until now + cooldown, never acquired meanwhile, free at exactly its end. */
export function cooldownTests(ctx: ConformanceContext): void {
  test("cooldown: a released key cools until exactly now + cooldown, life unchanged, and no acquire gets it before", async () => {
    const { store, clock } = await ctx.open();
    const [made] = await store.generate(1);
    const got = await store.acquire();
    clock.advance(1_000);
    const cooled = await store.release(got.key, got.leaseId, 2_000);
    expect(cooled).toMatchObject({ key: made!.key, state: "cooling", cooldownUntil: clock.now() + 2_000, expiresAt: made!.expiresAt });
    expect(cooled.leaseId).toBeUndefined();
    expect(await store.get(made!.key)).toEqual(cooled);
    expect(await store.stats()).toMatchObject({ total: 1, free: 0, blocked: 0, cooling: 1 });
    clock.advance(1_999);
    await expectCode(store.acquire(), "not-found");
    clock.advance(1);
    expect(await store.get(made!.key)).toMatchObject({ state: "free", cooldownUntil: undefined });
    expect((await store.acquire()).key).toBe(made!.key);
  });

  test("cooldown: a free key cools too; on a cooling key the later deadline wins; without a cooldown it stays cooling", async () => {
    const { store, clock } = await ctx.open();
    const key = await oneKey(store);
    const until = clock.now() + 5_000;
    expect(await store.release(key, undefined, 5_000)).toMatchObject({ state: "cooling", cooldownUntil: until });
    expect(await store.release(key, undefined, 1_000)).toMatchObject({ state: "cooling", cooldownUntil: until });
    expect(await store.release(key)).toMatchObject({ state: "cooling", cooldownUntil: until });
    clock.advance(4_000);
    expect(await store.release(key, undefined, 3_000)).toMatchObject({ state: "cooling", cooldownUntil: clock.now() + 3_000 });
  });

  test("cooldown: on a cooling key a lease id is FAILED_PRECONDITION and renew is lease-ended; keepalive and delete work", async () => {
    const { store, clock } = await ctx.open();
    const key = await oneKey(store);
    const got = await store.acquire();
    const cooled = await store.release(key, got.leaseId, 60_000);
    await expectCode(store.release(key, got.leaseId), "failed-precondition");
    const refused = await expectCode(store.renew(key, got.leaseId!), "failed-precondition");
    expect(refused.message).toBe(REFUSALS.cooling.message);
    expect(await store.renewMany([{ key, leaseId: got.leaseId! }])).toMatchObject([{ renewed: false, reason: "lease-ended" }]);
    expect(await store.get(key)).toEqual(cooled);
    clock.advance(1_000);
    expect(await store.keepAlive(key)).toMatchObject({ state: "cooling", cooldownUntil: cooled.cooldownUntil, expiresAt: clock.now() + LIFE_MS });
    expect(await store.keepAliveMany([key])).toEqual([{ key, found: true, expiresAt: clock.now() + LIFE_MS }]);
    await store.delete(key);
    await expectCode(store.get(key), "not-found");
    expect(await store.stats()).toMatchObject({ total: 0, cooling: 0 });
  });

  test("cooldown: a key that dies while cooling is gone for good, and never comes back free", async () => {
    const { store, clock } = await ctx.open();
    const [made] = await store.generate(1);
    await store.release(made!.key, undefined, DEFAULT_MAX_COOLDOWN_MS);
    clock.set(made!.expiresAt);
    await expectCode(store.get(made!.key), "not-found");
    expect(await store.stats()).toMatchObject({ total: 0, free: 0, cooling: 0 });
    clock.advance(DEFAULT_MAX_COOLDOWN_MS);
    await expectCode(store.acquire(), "not-found");
    await expectCode(store.keepAlive(made!.key), "not-found");
  });

  test("cooldown: past --max-cooldown (or negative) is INVALID_ARGUMENT naming the flag, and the key is untouched", async () => {
    const { store } = await ctx.open();
    const key = await oneKey(store);
    const got = await store.acquire();
    for (const cooldown of [DEFAULT_MAX_COOLDOWN_MS + 1, -1]) {
      const err = await expectCode(store.release(key, got.leaseId, cooldown), "invalid-argument");
      expect(err.message).toContain("--max-cooldown");
    }
    expect(await store.get(key)).toEqual(got);
    expect(await store.release(key, got.leaseId, DEFAULT_MAX_COOLDOWN_MS)).toMatchObject({ state: "cooling" });
  });

  test("cooldown: stats count cooling keys apart (free + blocked + cooling = total), and only free ones are acquired", async () => {
    const { store, clock } = await ctx.open();
    const made = await store.generate(10);
    const held = await Promise.all(made.slice(0, 6).map(() => store.acquire()));
    for (const k of held.slice(0, 3)) await store.release(k.key, k.leaseId, 10_000 + k.fencingToken!);
    expect(await store.stats()).toMatchObject({ total: 10, free: 4, blocked: 3, cooling: 3 });
    const rest = await Promise.all(Array.from({ length: 4 }, () => store.acquire()));
    const cooling = new Set(held.slice(0, 3).map((k) => k.key));
    for (const k of rest) expect(cooling.has(k.key)).toBe(false);
    await expectCode(store.acquire(), "not-found");
    clock.advance(10_001);
    expect(await store.stats()).toMatchObject({ total: 10, free: 3, blocked: 7, cooling: 0 });
  });

  test("cooldown: a waiting acquire is served when a cooldown ends (the store's freed-keys notice, not a poll)", async () => {
    const { store, scheduler } = await ctx.open();
    const [k] = await store.generate(1);
    await store.release(k!.key, undefined, 2_000);
    // Polls a minute apart, so only the store's freed-keys notice can serve the waiter in time.
    const queue = new AcquireQueue(store, { maxWaiters: 10, pollMs: 60_000, scheduler });
    try {
      const waiting = queue.acquire(30_000, new AbortController().signal);
      await eventually(() => queue.size === 1, "the waiter to queue");
      scheduler.advance(2_000);
      expect((await waiting).key).toBe(k!.key);
    } finally {
      queue.close();
    }
  });
}
