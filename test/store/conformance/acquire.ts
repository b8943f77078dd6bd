import { expect, test } from "vitest";
import { BLOCK_MS, LEASE_SHAPE, expectCode } from "./context.js";
import type { ConformanceContext } from "./context.js";

/** Draws in the uniformity smoke check, and keys they are spread over. */
const DRAWS = 600;
const SPREAD = 6;

/** AcquireKey (E2): what an acquisition returns and that a blocked key is never handed out. */
export function acquireTests(ctx: ConformanceContext): void {
  test("acquire: an empty pool is NOT_FOUND", async () => {
    const { store } = await ctx.open();
    await expectCode(store.acquire(), "not-found");
  });

  test("acquire: blocks the key until now + block TTL under a fresh 24-character lease id", async () => {
    const { store, clock } = await ctx.open();
    const [made] = await store.generate(1);
    clock.advance(1_234);
    const got = await store.acquire();
    expect(got).toEqual({
      key: made!.key,
      state: "blocked",
      leaseId: expect.stringMatching(LEASE_SHAPE),
      blockedUntil: clock.now() + BLOCK_MS,
      createdAt: made!.createdAt,
      expiresAt: made!.expiresAt,
      fencingToken: 1,
      acquiredAt: clock.now(),
    });
    expect(await store.get(made!.key)).toEqual(got);
  });

  test("acquire: N keys are acquired N times, each once, then NOT_FOUND: never a blocked key", async () => {
    const { store } = await ctx.open();
    const made = await store.generate(12);
    const got = [];
    for (let i = 0; i < made.length; i++) got.push(await store.acquire());
    expect(new Set(got.map((k) => k.key))).toEqual(new Set(made.map((k) => k.key)));
    expect(new Set(got.map((k) => k.leaseId)).size).toBe(made.length);
    await expectCode(store.acquire(), "not-found");
    expect(await store.stats()).toMatchObject({ total: 12, free: 0, blocked: 12 });
  });

  test("acquire: only free keys are picked, and each acquisition gets a new lease id", async () => {
    const { store } = await ctx.open();
    const [a, b] = await store.generate(2);
    const first = await store.acquire();
    const other = first.key === a!.key ? b!.key : a!.key;
    const leases = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const got = await store.acquire();
      expect(got.key).toBe(other);
      leases.add(got.leaseId!);
      await store.release(other, got.leaseId);
    }
    expect(leases.size).toBe(20);
    expect((await store.get(first.key)).leaseId).toBe(first.leaseId);
  });

  // Counts per key, and how often a key just released comes straight back (a pick biased to a
  // position, such as the last one freed, shows there even when the counts per key even out).
  test("acquire: the pick is spread over all free keys (uniformity smoke check)", async () => {
    const { store } = await ctx.open();
    const made = await store.generate(SPREAD);
    const hits = new Map(made.map((k) => [k.key, 0]));
    let repeats = 0;
    let last = "";
    for (let i = 0; i < DRAWS; i++) {
      const got = await store.acquire();
      hits.set(got.key, hits.get(got.key)! + 1);
      if (got.key === last) repeats++;
      last = got.key;
      await store.release(got.key, got.leaseId);
    }
    // Expected 100 per key, standard deviation ~9.1: [50, 150] is more than 5 sigma either way.
    for (const n of [...hits.values(), repeats]) {
      expect(n).toBeGreaterThanOrEqual(50);
      expect(n).toBeLessThanOrEqual(150);
    }
  });
}
