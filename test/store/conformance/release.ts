import { expect, test } from "vitest";
import type { KeyStore } from "../../../src/store/key-store.js";
import { FOREIGN_LEASE, LIFE_MS, UNKNOWN_KEY, expectCode, oneKey } from "./context.js";
import type { ConformanceContext } from "./context.js";

interface MalformedCase {
  readonly what: string;
  /** Builds the arguments from a real, blocked key. */
  readonly args: (key: string) => [string, string?];
}

const MALFORMED = [
  { what: "empty key", args: () => [""] },
  { what: "key of 7 characters", args: (k) => [k.slice(0, 7)] },
  { what: "key of 513 characters", args: (k) => [k.padEnd(513, "A")] },
  { what: "key with a space", args: (k) => [`${k.slice(0, -1)} `] },
  { what: "key with a control character", args: (k) => [`${k.slice(0, -1)}\n`] },
  { what: "key with a non-ASCII character", args: (k) => [`${k.slice(0, -1)}é`] },
  { what: "short lease id", args: (k) => [k, "abc"] },
  { what: "lease id with a character outside the alphabet", args: (k) => [k, "+".repeat(24)] },
  { what: "lease id that is a key", args: (k) => [k, k] },
  { what: "malformed key and lease id", args: () => ["nope", "nope"] },
] satisfies MalformedCase[];

/** Whether `key` can be acquired now: acquires it (the only free key) and releases it again. */
async function acquireAndReturn(store: KeyStore, key: string): Promise<void> {
  const got = await store.acquire();
  expect(got.key).toBe(key);
  await store.release(key, got.leaseId);
}

/** ReleaseKey (E3): unblocking, idempotence on free keys, lease checks, argument checks. */
export function releaseTests(ctx: ConformanceContext): void {
  test("release: a blocked key becomes free, acquirable again, with its life unchanged", async () => {
    const { store, clock } = await ctx.open();
    const [made] = await store.generate(1);
    const got = await store.acquire();
    clock.advance(5_000);
    const freed = await store.release(got.key, got.leaseId);
    expect(freed).toEqual({ ...made, state: "free", leaseId: undefined, blockedUntil: undefined, fencingToken: 1 });
    expect(await store.get(got.key)).toEqual(freed);
    expect(await store.stats()).toMatchObject({ total: 1, free: 1, blocked: 0 });
    await acquireAndReturn(store, got.key);
  });

  test("release: without a lease id (or with an empty one) any blocked key is released", async () => {
    const { store } = await ctx.open();
    const key = await oneKey(store);
    for (const lease of [undefined, ""]) {
      await store.acquire();
      expect((await store.release(key, lease)).state).toBe("free");
    }
  });

  test("release: a free key is OK and unchanged, and never enters the free keys twice", async () => {
    const { store } = await ctx.open();
    const [made] = await store.generate(1);
    expect(await store.release(made!.key)).toEqual(made);
    expect(await store.release(made!.key, FOREIGN_LEASE)).toEqual(made);
    expect(await store.stats()).toMatchObject({ total: 1, free: 1, blocked: 0 });
    await store.acquire();
    await expectCode(store.acquire(), "not-found");
    expect(await store.stats()).toMatchObject({ total: 1, free: 0, blocked: 1 });
  });

  test("release: a wrong lease id on a blocked key is FAILED_PRECONDITION and the key is untouched", async () => {
    const { store } = await ctx.open();
    await store.generate(1);
    const got = await store.acquire();
    const err = await expectCode(store.release(got.key, FOREIGN_LEASE), "failed-precondition");
    expect(err.message).toMatch(/lease/);
    expect(await store.get(got.key)).toEqual(got);
    await expectCode(store.acquire(), "not-found");
  });

  test("release: unknown, deleted and dead keys are NOT_FOUND", async () => {
    const { store, clock } = await ctx.open();
    const [gone, dead] = await store.generate(2);
    await store.delete(gone!.key);
    await expectCode(store.release(UNKNOWN_KEY), "not-found");
    await expectCode(store.release(gone!.key), "not-found");
    clock.advance(LIFE_MS);
    await expectCode(store.release(dead!.key), "not-found");
    await expectCode(store.release(dead!.key, FOREIGN_LEASE), "not-found");
  });

  test("release: a malformed key or lease id is INVALID_ARGUMENT and changes nothing", async () => {
    const { store } = await ctx.open();
    await store.generate(1);
    const got = await store.acquire();
    for (const c of MALFORMED as readonly MalformedCase[]) {
      const [key, lease] = c.args(got.key);
      const err = await expectCode(store.release(key, lease), "invalid-argument");
      expect(err.message, c.what).toMatch(/malformed|empty/);
    }
    expect(await store.get(got.key)).toEqual(got);
  });
}
