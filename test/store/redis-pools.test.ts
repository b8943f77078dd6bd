import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { ManualClock } from "../../src/clock.js";
import type { KeyInfo } from "../../src/pool/index.js";
import { seededRandom } from "../../src/random.js";
import { RedisPools } from "../../src/store/redis-pools.js";
import type { ShardedRedisStore } from "../../src/store/sharded-redis-store.js";
import type { RedisPoolsOptions } from "../../src/store/redis-pools.js";
import { PoolSettingsMismatch } from "../../src/store/redis/settings-gate.js";
import { eventually } from "../support/eventually.js";
import { RedisServer, hasRedisServer } from "../support/redis-server.js";
import { chiSquare, chiSquareCritical } from "./conformance/uniformity.js";

const SKIP_REASON = "redis-server not on PATH: install the Debian package redis-server";
const SETTINGS = { blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: 2_000 };
/** The standard normal quantile of 0.999 (as the conformance uniformity test). */
const Z_999 = 3.090232;

if (!hasRedisServer()) {
  console.warn(`\n!!! ${SKIP_REASON}. EVERY RedisPools test is SKIPPED. CI installs it and never skips. !!!\n`);
  test.skip(SKIP_REASON, () => {});
} else {
  let server: RedisServer;
  let admin: Redis;
  const cleanups: (() => Promise<unknown>)[] = [];
  let run = 0;

  /** A server's pools (closed after the test); `defaultPool` is fresh per test unless given. */
  async function open(options: Partial<RedisPoolsOptions> = {}): Promise<RedisPools> {
    const pools = await RedisPools.open({
      endpoint: { kind: "node", url: server.url }, defaultPool: `home${run}`, maxPools: 10, shards: 1, sweepIntervalMs: 0, ...SETTINGS, ...options,
    });
    cleanups.push(() => pools.close());
    return pools;
  }

  /** Every key of `store`'s listing, page by page (pages of `pageSize`). */
  async function listAll(store: Pick<ShardedRedisStore, "list">, pageSize = 7): Promise<KeyInfo[]> {
    const out: KeyInfo[] = [];
    let pageToken = "";
    do {
      const page = await store.list({ pageSize, pageToken });
      out.push(...page.keys);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return out;
  }

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.url);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await admin.flushall();
    run++;
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.dispose();
  });

  describe("RedisPools: many pools over one pair of connections", () => {
    test("twenty pools in use cost two connections, and each pool's keys stay in it", async () => {
      const before = (await admin.client("LIST") as string).trim().split("\n").length;
      const pools = await open({ maxPools: 30 });
      const made = new Map<string, string[]>();
      for (let i = 0; i < 20; i++) made.set(`p${i}`, (await pools.pool(`p${i}`, true).generate(3)).map((k) => k.key));
      const after = (await admin.client("LIST") as string).trim().split("\n").length;
      expect(after - before).toBe(2);
      for (const [name, keys] of made) {
        const store = pools.pool(name, false);
        const got = await Promise.all(keys.map(() => store.acquire()));
        expect(got.map((k) => k.key).sort()).toEqual([...keys].sort());
        await expect(store.acquire()).rejects.toMatchObject({ code: "not-found" });
      }
      expect(pools.poolNames()).toEqual([`home${run}`, ...made.keys()]);
    });

    test("'' is the default pool; a malformed name is INVALID_ARGUMENT; a pool past --max-pools is RESOURCE_EXHAUSTED", async () => {
      const pools = await open({ maxPools: 2 });
      expect(pools.pool("", false)).toBe(pools.pool(`home${run}`, false));
      expect(() => pools.pool("Upper", true)).toThrow(expect.objectContaining({ code: "invalid-argument" }));
      pools.pool("second", true);
      expect(() => pools.pool("third", false)).toThrow(
        expect.objectContaining({ code: "resource-exhausted", message: expect.stringContaining("at most 2 pools (--max-pools)") }),
      );
    });

    test("reading a pool Redis does not hold answers as an empty pool and writes nothing to Redis", async () => {
      const pools = await open();
      const ghost = pools.pool("ghost", false);
      expect(await ghost.stats()).toMatchObject({ total: 0, free: 0, blocked: 0, cooling: 0, ...SETTINGS });
      await expect(ghost.acquire()).rejects.toMatchObject({ code: "not-found" });
      await expect(ghost.get("sk-some-imported-key")).rejects.toMatchObject({ code: "not-found" });
      await expect(ghost.release("sk-some-imported-key", undefined, 1_000)).rejects.toMatchObject({ code: "not-found" });
      expect(await ghost.keepAliveMany(["sk-some-imported-key"])).toEqual([{ key: "sk-some-imported-key", found: false }]);
      expect(await ghost.list({ pageSize: 10, pageToken: "" })).toEqual({ keys: [], nextPageToken: "" });
      expect(await ghost.shards[0]!.sweepOnce()).toMatchObject({ work: 0, next: -1 });
      expect(await admin.keys("*ghost*")).toEqual([]);
      // The first call that adds keys makes it, with this server's settings.
      await ghost.import(["sk-some-imported-key"]);
      expect(await admin.hget("{keypool:ghost}:settings", "blockTtlMs")).toBe(String(SETTINGS.blockTtlMs));
      expect((await ghost.acquire()).key).toBe("sk-some-imported-key");
    });

    test("a named pool with other settings answers FAILED_PRECONDITION naming both values; the other pools serve on", async () => {
      const other = await open({ defaultPool: "x", blockTtlMs: 30_000 });
      await other.pool("strict", true).generate(2);
      const pools = await open();
      const err = await pools.pool("strict", false).acquire().catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: "failed-precondition",
        message: "redis pool 'strict' has blockTtlMs 30000 but this store was opened with blockTtlMs 60000",
      });
      expect(pools.isServing()).toBe(true);
      expect(await pools.pool("", true).generate(1)).toHaveLength(1);
      // Checked again on each call: once the pool's settings match, it serves.
      await admin.hset("{keypool:strict}:settings", "blockTtlMs", "60000");
      expect((await pools.pool("strict", false).acquire()).blockedUntil).toBeGreaterThan(0);
    });

    test("a pool found absent, then made by a server with other settings: the next call is FAILED_PRECONDITION", async () => {
      const pools = await open();
      const late = pools.pool("late", false);
      await expect(late.acquire()).rejects.toMatchObject({ code: "not-found" });
      const other = await open({ defaultPool: "y", maxKeys: 10 });
      await other.pool("late", true).generate(1);
      // This call follows the pool's settings (as every script does); the next one checks them again.
      await expect(late.stats()).resolves.toMatchObject({ total: 1, maxKeys: 10 });
      await expect(late.acquire()).rejects.toMatchObject({ code: "failed-precondition", message: expect.stringContaining("maxKeys 10") });
    });

    test("the default pool with other settings refuses start-up; another --pool-shards too", async () => {
      await open({ defaultPool: "shared" });
      await expect(open({ defaultPool: "shared", maxKeys: 5 })).rejects.toBeInstanceOf(PoolSettingsMismatch);
      await expect(open({ defaultPool: "shared", shards: 2 })).rejects.toThrow("is split into 1 shards but this server has --pool-shards 2");
    });

    test("freed-keys events name their pool, whichever server freed the keys", async () => {
      const a = await open();
      const b = await open();
      const heard: string[] = [];
      a.onKeysFreed((pool) => heard.push(pool));
      await b.pool("red", true).generate(1);
      const got = await b.pool("blue", true).generate(1).then(() => b.pool("blue", false).acquire());
      await b.pool("blue", false).release(got.key, got.leaseId);
      await eventually(() => heard.filter((p) => p === "blue").length >= 2 && heard.includes("red"), "events of both pools");
    });
  });

  describe("RedisPools: two servers share a named pool", () => {
    test("a cooldown set through one holds on the other, and ends for both at exactly cooldownUntil", async () => {
      const clock = new ManualClock();
      const a = (await open({ clock })).pool("llm", true);
      const b = (await open({ clock })).pool("llm", false);
      const [key] = await a.import(["sk-proj-aaaaaaaaaaaaaaaaaaaa"]);
      const held = await b.acquire();
      const cooled = await b.release(held.key, held.leaseId, 2_000);
      expect(cooled).toMatchObject({ state: "cooling", cooldownUntil: clock.now() + 2_000, expiresAt: key!.expiresAt });
      expect(await a.get(key!.key)).toEqual(cooled);
      expect(await a.stats()).toMatchObject({ total: 1, free: 0, cooling: 1 });
      clock.advance(1_999);
      await expect(a.acquire()).rejects.toMatchObject({ code: "not-found" });
      clock.advance(1);
      expect((await a.acquire()).key).toBe(key!.key);
    });

    test("a listing begun on one server continues on the other and returns every key once", async () => {
      const a = (await open()).pool("catalog", true);
      const b = (await open()).pool("catalog", false);
      const made = [...(await a.generate(40)), ...(await b.import(Array.from({ length: 25 }, (_, i) => `imported-${String(i).padStart(4, "0")}`)))];
      const first = await a.list({ pageSize: 10, pageToken: "" });
      const rest = await listAll({ list: (q) => b.list({ ...q, pageToken: q.pageToken || first.nextPageToken }) }, 10);
      const listed = [...first.keys, ...rest].map((k) => k.key);
      expect(listed).toHaveLength(65);
      expect(new Set(listed)).toEqual(new Set(made.map((k) => k.key)));
    });
  });

  test("acquire is uniform within each pool and never crosses pools (3 pools of 100 keys, 2,000 draws each, chi-square 99.9 % per pool)", async () => {
    const pools = await open({ random: seededRandom(5) });
    const KEYS = 100;
    const ROUNDS = 200;
    const names = ["one", "two", "three"];
    const keysOf = new Map<string, Map<string, number>>();
    for (const name of names) keysOf.set(name, new Map((await pools.pool(name, true).generate(KEYS)).map((k) => [k.key, 0])));
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(names.map(async (name) => {
        const store = pools.pool(name, false);
        const got = await Promise.all(Array.from({ length: 10 }, () => store.acquire()));
        for (const k of got) {
          const hits = keysOf.get(name)!;
          expect(hits.has(k.key)).toBe(true);
          hits.set(k.key, hits.get(k.key)! + 1);
        }
        await Promise.all(got.map((k) => store.release(k.key, k.leaseId)));
      }));
    }
    for (const name of names) expect(chiSquare([...keysOf.get(name)!.values()])).toBeLessThan(chiSquareCritical(KEYS - 1, Z_999));
  }, 60_000);
}
