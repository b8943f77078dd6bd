import { once } from "node:events";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createKeyPoolClient, KeyPoolClientError } from "../../src/index.js";
import type { KeyPoolClient, LostReason, PoolKey } from "../../src/index.js";
import { providerKeys } from "../support/provider-keys.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";
import { ManualScheduler } from "./support/manual-scheduler.js";

let t: TestServer;
let scheduler: ManualScheduler;
let client: KeyPoolClient;
beforeEach(async () => {
  t = await startTestServer({ maxPools: 1_000 });
  scheduler = new ManualScheduler(t.clock);
  client = createKeyPoolClient(t.address, { scheduler, random: () => 1 });
});
afterEach(async () => {
  client.close();
  await t.close();
});

async function failure(call: Promise<unknown>): Promise<KeyPoolClientError> {
  const err = await call.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(KeyPoolClientError);
  return err as KeyPoolClientError;
}

/** Every key a listing yields, page by page flattened. */
async function listed(pages: AsyncIterable<PoolKey[]>): Promise<PoolKey[]> {
  const keys: PoolKey[] = [];
  for await (const page of pages) keys.push(...page);
  return keys;
}

describe("importKeys", () => {
  it("adds the keys to the named pool, free, in order, and only there", async () => {
    const keys = providerKeys(3);
    const imported = await client.importKeys(keys, { pool: "openai" });
    expect(imported.map((k) => [k.key, k.pool, k.state, k.expiresAt])).toEqual(keys.map((k) => [k, "openai", "free", t.clock.now() + 300_000]));
    expect((await client.getPoolStats({ pool: "openai" })).free).toBe(3);
    expect((await client.getPoolStats()).total).toBe(0); // the default pool is another pool
    expect((await failure(client.getKey(keys[0]!))).code).toBe("NOT_FOUND");
  });

  it("all or none: a key the pool holds is ALREADY_EXISTS naming its index, a malformed one INVALID_ARGUMENT, never echoing the key", async () => {
    const [first, second] = providerKeys(2);
    await client.importKeys([first!], { pool: "openai" });
    const exists = await failure(client.importKeys([second!, first!], { pool: "openai" }));
    expect([exists.code, exists.method]).toEqual(["ALREADY_EXISTS", "ImportKeys"]);
    expect(exists.details).toContain("keys[1]");
    const bad = await failure(client.importKeys([second!, "has a space in it"], { pool: "openai" }));
    expect(bad.code).toBe("INVALID_ARGUMENT");
    expect(bad.details).toContain("keys[1]");
    for (const err of [exists, bad]) expect(err.message).not.toContain(first!);
    expect((await client.getPoolStats({ pool: "openai" })).total).toBe(1);
  });
});

describe("acquireKey({ pool }) and the pool an acquired key carries", () => {
  it("hands out keys of that pool only; waiting acquires wait per pool", async () => {
    await client.importKeys(providerKeys(2, "o"), { pool: "openai" });
    await client.importKeys(providerKeys(2, "g"), { pool: "gemini" });
    const got = [await client.acquireKey({ pool: "gemini" }), await client.acquireKey({ pool: "gemini" })];
    expect(got.map((k) => k.pool)).toEqual(["gemini", "gemini"]);
    expect(got.every((k) => k.key.startsWith("sk-proj-g"))).toBe(true);
    expect((await failure(client.acquireKey({ pool: "gemini" }))).code).toBe("NOT_FOUND");
    expect((await failure(client.acquireKey())).code).toBe("NOT_FOUND"); // the default pool holds none
    expect((await client.acquireKey({ pool: "openai" })).pool).toBe("openai");
  });

  it("renew, release, get and delete given the acquired key go to its pool without being told", async () => {
    await client.importKeys(providerKeys(1), { pool: "openai" });
    const leased = await client.acquireKey({ pool: "openai" });
    expect((await client.renewLease(leased, leased.leaseId)).pool).toBe("openai");
    expect((await client.getKey(leased)).state).toBe("blocked");
    expect((await client.releaseKey(leased, leased.leaseId)).state).toBe("free");
    expect((await failure(client.getKey(leased, { pool: "gemini" }))).code).toBe("INVALID_ARGUMENT");
    await client.deleteKey(leased);
    expect((await failure(client.getKey(leased.key, { pool: "openai" }))).code).toBe("NOT_FOUND");
  });
});

describe("release with a cooldown", () => {
  it("parks the key COOLING: never acquired until exactly cooldownUntil, then free by itself", async () => {
    await client.importKeys(providerKeys(1), { pool: "openai" });
    const leased = await client.acquireKey({ pool: "openai" });
    const cooling = await client.releaseKey(leased, leased.leaseId, { cooldownMs: 30_000 });
    expect(cooling).toMatchObject({ state: "cooling", leaseId: undefined, blockedUntil: undefined, cooldownUntil: t.clock.now() + 30_000 });
    expect(await client.getPoolStats({ pool: "openai" })).toMatchObject({ total: 1, free: 0, blocked: 0, cooling: 1 });
    scheduler.advance(29_999);
    expect((await failure(client.acquireKey({ pool: "openai" }))).code).toBe("NOT_FOUND");
    scheduler.advance(1);
    expect((await client.acquireKey({ pool: "openai" })).key).toBe(leased.key);
  });

  it("hold.release({ cooldownMs }) releases under the lease in the hold's pool", async () => {
    await client.importKeys(providerKeys(1), { pool: "openai" });
    const hold = client.hold(await client.acquireKey({ pool: "openai" }));
    expect(hold.pool).toBe("openai");
    expect(await hold.release({ cooldownMs: 5_000 })).toMatchObject({ pool: "openai", state: "cooling", cooldownUntil: t.clock.now() + 5_000 });
  });

  it("a negative cooldown is refused before anything is sent", async () => {
    const err = await failure(client.releaseKey("sk-proj-whatever-0001", { unfenced: true, cooldownMs: -1 }));
    expect([err.code, err.details]).toEqual(["INVALID_ARGUMENT", "cooldownMs must be a duration of 0 ms or more (got -1)"]);
  });
});

describe("holds across pools", () => {
  it("one key string in two pools: two holds over one stream, each renewed and lost in its own pool", async () => {
    const [shared] = providerKeys(1, "shared");
    await client.importKeys([shared!], { pool: "team-a" });
    await client.importKeys([shared!], { pool: "team-b" });
    const [leasedA, leasedB] = [await client.acquireKey({ pool: "team-a" }), await client.acquireKey({ pool: "team-b" })];
    const a = client.hold(leasedA);
    const b = client.hold(leasedB);
    await Promise.all([once(a, "renewed"), once(b, "renewed")]);
    expect(t.server.streams.size).toBe(1);
    scheduler.advance(20_000); // a third of the block TTL: one renewal of each
    await Promise.all([once(a, "renewed"), once(b, "renewed")]);
    for (const pool of ["team-a", "team-b"]) {
      const info = await client.getKey(shared!, { pool });
      expect([info.pool, info.state, info.blockedUntil]).toEqual([pool, "blocked", t.clock.now() + 60_000]);
    }
    const lost: [string, LostReason, string][] = [];
    client.on("lost", (key, reason, pool) => lost.push([key, reason, pool]));
    await client.deleteKey(shared!, { pool: "team-b" });
    const gone = once(b, "lost");
    scheduler.advance(20_000);
    expect(await gone).toEqual(["not-found"]);
    expect(lost).toEqual([[shared, "not-found", "team-b"]]);
    expect(a.active).toBe(true);
    expect((await a.release())?.state).toBe("free");
  });

  it("keepAliveKeys and hold(key, { pool }) keep keys of the named pool alive", async () => {
    const keys = providerKeys(2);
    await client.importKeys(keys, { pool: "openai" });
    scheduler.advance(1_000);
    expect((await client.keepAliveKeys(keys, { pool: "openai" })).map((o) => o.expiresAt)).toEqual([t.clock.now() + 300_000, t.clock.now() + 300_000]);
    expect((await client.keepAliveKeys(keys)).map((o) => o.found)).toEqual([false, false]); // not in the default pool
    const hold = client.hold(keys[0]!, { pool: "openai" });
    expect(await once(hold, "renewed")).toEqual([t.clock.now() + 300_000]);
    expect(() => client.hold(keys[0]!, { pool: "Not A Pool" })).toThrow(/pool name/);
    hold.stop();
  });
});

describe("listKeys", () => {
  it("pages through the pool: every key exactly once, whatever the page size", async () => {
    const keys = providerKeys(250);
    for (let i = 0; i < keys.length; i += 100) await client.importKeys(keys.slice(i, i + 100), { pool: "openai" });
    for (const pageSize of [1, 7, 100, 1000]) {
      const all = await listed(client.listKeys({ pool: "openai", pageSize }));
      expect(all.map((k) => k.key).sort()).toEqual([...keys].sort());
      expect(new Set(all.map((k) => k.pool))).toEqual(new Set(["openai"]));
    }
    expect(await listed(client.listKeys({ pool: "nobody-here" }))).toEqual([]);
  });

  it("a state filter returns only keys in that state, across short and empty pages", async () => {
    const keys = providerKeys(60);
    await client.importKeys(keys, { pool: "openai" });
    const leased = await client.acquireKey({ pool: "openai" });
    await client.releaseKey(leased, leased.leaseId, { cooldownMs: 60_000 });
    const blocked = await client.acquireKey({ pool: "openai" });
    let pages = 0;
    const cooling: PoolKey[] = [];
    for await (const page of client.listKeys({ pool: "openai", state: "cooling", pageSize: 2 })) {
      pages++;
      cooling.push(...page);
    }
    expect(cooling.map((k) => [k.key, k.state, k.cooldownUntil])).toEqual([[leased.key, "cooling", t.clock.now() + 60_000]]);
    expect(pages).toBe(1); // empty pages are followed, never yielded
    expect((await listed(client.listKeys({ pool: "openai", state: "blocked" }))).map((k) => k.key)).toEqual([blocked.key]);
    expect(await listed(client.listKeys({ pool: "openai", state: "free" }))).toHaveLength(58);
  });
});
