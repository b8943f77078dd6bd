import { describe, expect, it } from "vitest";
import type { KeyPool, ListPage, ListQuery } from "../../src/pool/index.js";
import { seededRandom } from "../../src/random.js";
import { T0, errorOf, makePool } from "./pool-fixtures.js";

/** Lists the whole pool from `query`'s first page; returns the keys and the pages. */
function scan(pool: KeyPool, query: Omit<ListQuery, "pageToken">, now = T0): { keys: string[]; pages: ListPage[] } {
  const pages: ListPage[] = [];
  let pageToken = "";
  do {
    const page = pool.list({ ...query, pageToken }, now);
    pages.push(page);
    pageToken = page.nextPageToken;
  } while (pageToken !== "" && pages.length < 10_000);
  return { keys: pages.flatMap((p) => p.keys.map((k) => k.key)), pages };
}

describe("KeyPool.list", () => {
  it("pages through every live key once, in slot order, an empty pool in one empty page", () => {
    expect(makePool().list({ pageSize: 10, pageToken: "" }, T0)).toEqual({ keys: [], nextPageToken: "" });
    const pool = makePool();
    const made = pool.generate(25, T0).map((k) => k.key);
    const { keys, pages } = scan(pool, { pageSize: 10 });
    expect(keys).toEqual(made);
    expect(pages.map((p) => p.keys.length)).toEqual([10, 10, 5]);
    expect(pages.at(-1)!.nextPageToken).toBe("");
  });

  it("examines at most 4 x page size slots per call, so a filter over other states returns short pages", () => {
    const pool = makePool();
    pool.generate(100, T0);
    const held = pool.acquire(T0).key;
    const { keys, pages } = scan(pool, { pageSize: 5, state: "blocked" });
    expect(keys).toEqual([held]);
    expect(pages.length).toBe(5); // 100 slots / (4 x 5) per call
    expect(pages.filter((p) => p.keys.length === 0).length).toBe(4);
  });

  it("lists by state as get describes the keys, dead keys never", () => {
    const pool = makePool({ maxCooldownMs: 60_000 });
    const [a, b, c, d] = pool.generate(4, T0);
    const held = pool.acquire(T0);
    const cooled = [a, b, c, d].find((k) => k!.key !== held.key)!;
    pool.release(cooled.key, undefined, T0, 30_000);
    expect(scan(pool, { pageSize: 2, state: "cooling" }).keys).toEqual([cooled.key]);
    expect(scan(pool, { pageSize: 2, state: "blocked" }).keys).toEqual([held.key]);
    expect(scan(pool, { pageSize: 2, state: "free" }).keys.length).toBe(2);
    expect(pool.list({ pageSize: 10, pageToken: "" }, T0).keys.find((k) => k.key === cooled.key)).toEqual(pool.get(cooled.key, T0));
    expect(scan(pool, { pageSize: 3 }, T0 + 300_000).keys).toEqual([]);
  });

  it("returns every key present for the whole scan exactly once while keys come and go", () => {
    const random = seededRandom(8);
    const pool = makePool({ maxKeys: 5_000 });
    const stable = new Set(pool.generate(500, T0).map((k) => k.key));
    const churn: string[] = pool.generate(500, T0).map((k) => k.key);
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = pool.list({ pageSize: 7, pageToken }, T0);
      seen.push(...page.keys.map((k) => k.key));
      pageToken = page.nextPageToken;
      // Between pages: delete some churn keys, add new ones (they reuse freed slots, before or after the cursor).
      for (let i = 0; i < 3 && churn.length > 0; i++) pool.delete(churn.splice(random.int(churn.length), 1)[0]!, T0);
      churn.push(...pool.generate(2, T0).map((k) => k.key));
    } while (pageToken !== "");
    expect(new Set(seen).size).toBe(seen.length);
    for (const key of stable) expect(seen).toContain(key);
  });

  it("refuses a token of another pool, another state filter or a malformed one, naming the fix", () => {
    const pool = makePool();
    pool.generate(30, T0);
    const other = makePool({}, seededRandom(2));
    other.generate(30, T0);
    const token = pool.list({ pageSize: 10, pageToken: "" }, T0).nextPageToken;
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    for (const [what, call] of [
      ["another pool", () => other.list({ pageSize: 10, pageToken: token }, T0)],
      ["another state", () => pool.list({ pageSize: 10, pageToken: token, state: "free" }, T0)],
      ["malformed", () => pool.list({ pageSize: 10, pageToken: "not a token" }, T0)],
      ["tampered", () => pool.list({ pageSize: 10, pageToken: `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}` }, T0)],
    ] as const) {
      const err = errorOf(call);
      expect(err.code, what).toBe("invalid-argument");
      expect(err.message, what).toMatch(/page_token .*start the listing over/);
    }
  });
});
