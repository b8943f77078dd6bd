import { expect, test } from "vitest";
import type { KeyInfo, KeyState } from "../../../src/pool/index.js";
import type { KeyStore } from "../../../src/store/key-store.js";
import { LIFE_MS, expectCode } from "./context.js";
import type { ConformanceContext } from "./context.js";

/** Every page of a listing from the start (`between` runs after each call): the keys in order, and how many calls it took. */
export async function scan(store: KeyStore, pageSize: number, state?: KeyState, between?: () => Promise<void>): Promise<{ keys: KeyInfo[]; calls: number }> {
  const keys: KeyInfo[] = [];
  let pageToken = "";
  let calls = 0;
  do {
    const page = await store.list({ pageSize, pageToken, state });
    calls++;
    expect(page.keys.length).toBeLessThanOrEqual(pageSize);
    keys.push(...page.keys);
    pageToken = page.nextPageToken;
    await between?.();
  } while (pageToken !== "");
  return { keys, calls };
}

/** ListKeys: pages through the pool with a cursor; each call bounded; a full scan sees every stable key once. */
export function listingTests(ctx: ConformanceContext): void {
  test("list: pages cover every live key once, each as get describes it, and the last token is empty", async () => {
    const { store } = await ctx.open();
    const made = [...(await store.generate(20)), ...(await store.import(["sk-list-000001", "sk-list-000002"]))];
    const held = await store.acquire();
    const cooled = await store.release((await store.acquire()).key, undefined, 5_000);
    const { keys } = await scan(store, 3);
    expect(keys).toHaveLength(22);
    expect(new Set(keys.map((k) => k.key))).toEqual(new Set(made.map((k) => k.key)));
    for (const k of keys) expect(k).toEqual(await store.get(k.key));
    expect(keys.find((k) => k.key === held.key)).toMatchObject({ state: "blocked", leaseId: held.leaseId });
    expect(keys.find((k) => k.key === cooled.key)).toMatchObject({ state: "cooling", cooldownUntil: cooled.cooldownUntil });
  });

  test("list: a state filter returns exactly the keys in that state; an empty pool lists nothing", async () => {
    const { store } = await ctx.open();
    expect((await scan(store, 10)).keys).toEqual([]);
    await store.generate(30);
    const blocked = await Promise.all(Array.from({ length: 8 }, () => store.acquire()));
    for (const k of blocked.slice(0, 3)) await store.release(k.key, k.leaseId, 60_000);
    const byState = async (state: KeyState): Promise<string[]> => (await scan(store, 4, state)).keys.map((k) => k.key).sort();
    expect(await byState("cooling")).toEqual(blocked.slice(0, 3).map((k) => k.key).sort());
    expect(await byState("blocked")).toEqual(blocked.slice(3).map((k) => k.key).sort());
    expect(await byState("free")).toHaveLength(22);
  });

  test("list: a full scan while keys are added, acquired, cooled and deleted returns every stable key exactly once", async () => {
    const { store, clock } = await ctx.open();
    const stable = new Set((await store.generate(60)).map((k) => k.key));
    const churn = (await store.generate(60)).map((k) => k.key);
    let round = 0;
    const { keys } = await scan(store, 7, undefined, async () => {
      round++;
      await store.generate(5);
      await store.delete(churn.pop()!);
      const got = await store.acquire();
      if (round % 2 === 0) await store.release(got.key, got.leaseId, 1_000);
      clock.advance(100);
    });
    const listed = keys.map((k) => k.key);
    expect(listed.length).toBe(new Set(listed).size);
    for (const key of stable) expect(listed).toContain(key);
  });

  test("list: each call examines at most 4 x page size keys, so a rare state costs short pages, not a long call", async () => {
    const { store } = await ctx.open();
    await store.generate(100);
    const [last] = await store.generate(1);
    await store.release(last!.key, undefined, 1_000);
    const { keys, calls } = await scan(store, 5, "cooling");
    expect(keys.map((k) => k.key)).toEqual([last!.key]);
    // 101 keys, at most 20 examined per call.
    expect(calls).toBeGreaterThanOrEqual(6);
  });

  test("list: dead keys are never listed", async () => {
    const { store, clock } = await ctx.open();
    const [old] = await store.generate(1);
    clock.advance(LIFE_MS / 2);
    const [young] = await store.generate(1);
    clock.set(old!.expiresAt);
    expect((await scan(store, 10)).keys.map((k) => k.key)).toEqual([young!.key]);
  });

  test("list: a garbled token, one of another store's pool, or one made for another filter is INVALID_ARGUMENT", async () => {
    const { store } = await ctx.open();
    const { store: other } = await ctx.open();
    await store.generate(10);
    await other.generate(10);
    // A page may be short, even empty, with a token: the first with a token is the one to reuse.
    const firstToken = async (s: KeyStore): Promise<string> => (await s.list({ pageSize: 3, pageToken: "" })).nextPageToken;
    const page = { nextPageToken: await firstToken(store) };
    const foreign = await firstToken(other);
    for (const [pageToken, state] of [["garbage!", undefined], [page.nextPageToken.slice(2), undefined], [foreign, undefined], [page.nextPageToken, "free"]] as const) {
      const err = await expectCode(store.list({ pageSize: 3, pageToken, state }), "invalid-argument");
      expect(err.message).toContain("start the listing over");
    }
    // The token itself, with its own filter, goes on.
    await expect(store.list({ pageSize: 3, pageToken: page.nextPageToken })).resolves.toBeDefined();
  });
}
