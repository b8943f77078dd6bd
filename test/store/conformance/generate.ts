import { expect, test } from "vitest";
import { KEY_SHAPE, LIFE_MS, expectCode } from "./context.js";
import type { ConformanceContext } from "./context.js";

interface CountCase {
  readonly count: number;
  /** Keys made, or undefined when the call must fail INVALID_ARGUMENT. */
  readonly made?: number;
}

const COUNTS = [
  { count: 0, made: 1 },
  { count: 1, made: 1 },
  { count: 7, made: 7 },
  { count: 1000, made: 1000 },
  { count: 1001 },
  { count: 5000 },
  { count: -1 },
  { count: 2.5 },
  { count: Number.NaN },
] satisfies CountCase[];

/** GenerateKeys (E1): count rules, capacity, and what a new key looks like. */
export function generateTests(ctx: ConformanceContext): void {
  test("generate: 0 means 1, at most 1000, anything else is INVALID_ARGUMENT with nothing added", async () => {
    for (const c of COUNTS as readonly CountCase[]) {
      const { store } = await ctx.open();
      if (c.made === undefined) {
        await expectCode(store.generate(c.count), "invalid-argument");
        expect((await store.stats()).total, `count ${c.count}`).toBe(0);
      } else {
        const keys = await store.generate(c.count);
        expect(keys, `count ${c.count}`).toHaveLength(c.made);
        expect((await store.stats()).total, `count ${c.count}`).toBe(c.made);
      }
    }
  });

  test("generate: a new key is well-formed, free, unleased, and alive for one keepalive TTL", async () => {
    const { store, clock } = await ctx.open();
    const now = clock.now();
    const keys = await store.generate(50);
    expect(new Set(keys.map((k) => k.key)).size).toBe(50);
    for (const info of keys) {
      expect(info.key).toMatch(KEY_SHAPE);
      expect(info).toEqual({
        key: info.key,
        state: "free",
        leaseId: undefined,
        blockedUntil: undefined,
        createdAt: now,
        expiresAt: now + LIFE_MS,
        fencingToken: 0,
        acquiredAt: undefined,
      });
      expect(await store.get(info.key)).toEqual(info);
    }
  });

  test("generate: past capacity is RESOURCE_EXHAUSTED and adds nothing, not even part", async () => {
    const { store } = await ctx.open({ maxKeys: 10 });
    await store.generate(9);
    const err = await expectCode(store.generate(2), "resource-exhausted");
    expect(err.message).toMatch(/max-keys/);
    expect((await store.stats()).total).toBe(9);
    await store.generate(1);
    await expectCode(store.generate(0), "resource-exhausted");
    expect(await store.stats()).toMatchObject({ total: 10, free: 10, blocked: 0, maxKeys: 10 });
  });

  test("generate: capacity counts live keys only; blocked keys count, dead and deleted ones do not", async () => {
    const { store, clock } = await ctx.open({ maxKeys: 4 });
    const [a] = await store.generate(4);
    await store.acquire();
    await expectCode(store.generate(1), "resource-exhausted");
    await store.delete(a!.key);
    await store.generate(1);
    await expectCode(store.generate(1), "resource-exhausted");
    clock.advance(LIFE_MS);
    expect(await store.generate(4)).toHaveLength(4);
  });
}
