import { describe, expect, test } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { DEFAULT_MAX_COOLDOWN_MS } from "../../src/pool/index.js";
import type { PoolSettings } from "../../src/pool/index.js";
import { RedisStore } from "../../src/store/redis-store.js";
import { PoolSettingsMismatch } from "../../src/store/redis/settings-gate.js";
import { shardKeys } from "../../src/store/redis/shard-keys.js";
import { eventually } from "../support/eventually.js";
import { RedisServer, hasRedisServer } from "../support/redis-server.js";
import { redisStoreFixture } from "../support/redis-store-fixture.js";

const SKIP_REASON = "redis-server not on PATH: install the Debian package redis-server";
const SETTINGS: Omit<PoolSettings, "maxCooldownMs"> = { blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: 2_000 };
const OTHER: Omit<PoolSettings, "maxCooldownMs"> = { blockTtlMs: 30_000, keepaliveTtlMs: 300_000, maxKeys: 500 };
/** The default --max-lease, a pool setting too. */
const DAY = 86_400_000;

if (!hasRedisServer()) {
  console.warn(`\n!!! ${SKIP_REASON}. EVERY RedisStore settings test is SKIPPED. CI installs it and never skips. !!!\n`);
  test.skip(SKIP_REASON, () => {});
} else {
  const fx = redisStoreFixture("s", SETTINGS);
  const open = fx.open;

  describe("RedisStore settings: the pool's, kept in Redis", () => {
    test("the first server writes its settings; later ones with the same settings report the same", async () => {
      const a = await open();
      expect(await fx.admin.hgetall(`{keypool:${fx.pool}}:settings`)).toEqual({ blockTtlMs: "60000", keepaliveTtlMs: "300000", maxKeys: "2000", maxLeaseMs: "86400000", maxCooldownMs: "3600000" });
      expect(a.describe().details).toMatchObject({ settings: "new pool: this server's settings written" });
      const b = await open();
      expect(b.describe().details).toMatchObject({ settings: "the pool's settings match this server's" });
      expect(await a.stats()).toEqual(await b.stats());
      expect(b.settings).toEqual({ ...SETTINGS, maxCooldownMs: DEFAULT_MAX_COOLDOWN_MS });
    });

    test("a server whose settings differ is refused at open, naming both values of each setting that differs", async () => {
      await open();
      const err = await RedisStore.open({ url: fx.url, pool: fx.pool, ...OTHER, sweepIntervalMs: 0 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PoolSettingsMismatch);
      const mismatch = err as PoolSettingsMismatch;
      expect(mismatch.fields).toEqual(["blockTtlMs", "maxKeys"]);
      expect(mismatch.poolSettings).toEqual({ ...SETTINGS, maxLeaseMs: DAY, maxCooldownMs: DEFAULT_MAX_COOLDOWN_MS });
      expect(mismatch.wanted).toEqual({ ...OTHER, maxLeaseMs: DAY, maxCooldownMs: DEFAULT_MAX_COOLDOWN_MS });
      expect(mismatch.message).toBe(
        `redis pool '${fx.pool}' has blockTtlMs 60000 and maxKeys 2000 but this store was opened with blockTtlMs 30000 and maxKeys 500`,
      );
    });

    test("updateSettings overwrites them, and a server already running follows on its next call", async () => {
      const clock = new ManualClock();
      const a = await open({ clock });
      await a.generate(3);
      const b = await open({ ...OTHER, clock, updateSettings: true });
      expect(b.describe().details).toMatchObject({ settings: expect.stringMatching(/^updated by this server \(were .*"blockTtlMs":60000/) });
      // A was started with 60 s blocks; the pool's blocks are 30 s now, and the scripts take them from the pool.
      const got = await a.acquire();
      expect(got.blockedUntil).toBe(clock.now() + OTHER.blockTtlMs);
      expect(a.settings).toEqual({ ...OTHER, maxCooldownMs: DEFAULT_MAX_COOLDOWN_MS });
      expect(await a.stats()).toMatchObject({ ...OTHER, total: 3 });
      await expect(a.generate(498)).rejects.toMatchObject({ code: "resource-exhausted", message: expect.stringContaining("at most 500 keys") });
    });

    test("--max-lease is a pool setting too: renewals follow the pool's, and a server with another is refused", async () => {
      const clock = new ManualClock();
      const a = await open({ clock, maxLeaseMs: 90_000 });
      await a.generate(1);
      const held = await a.acquire();
      clock.advance(20_000);
      // 20 s + a 60 s block = 80 s from the acquire: within 90 s; the next, at 40 s, is not.
      expect((await a.renew(held.key, held.leaseId!)).blockedUntil).toBe(clock.now() + SETTINGS.blockTtlMs);
      clock.advance(20_000);
      await expect(a.renew(held.key, held.leaseId!)).rejects.toMatchObject({ code: "failed-precondition" });
      const err = await RedisStore.open({ url: fx.url, pool: fx.pool, ...SETTINGS, sweepIntervalMs: 0 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ fields: ["maxLeaseMs"], message: expect.stringContaining("maxLeaseMs 90000 but this store was opened with maxLeaseMs 86400000") });
    });

    test("a pool whose Redis lost its settings gets them back from a running server, and serves", async () => {
      const a = await open();
      await a.generate(2);
      await fx.admin.del(...shardKeys(fx.pool));
      expect(await a.generate(1)).toHaveLength(1);
      expect(await fx.admin.hget(`{keypool:${fx.pool}}:settings`, "blockTtlMs")).toBe("60000");
      expect(await a.stats()).toMatchObject({ ...SETTINGS, total: 1 });
    });

    test("a keypool 0.1 pool (free keys in a SET) is moved into the free array on open, in bounded steps", async () => {
      const tag = `{keypool:${fx.pool}}`;
      const keys = Array.from({ length: 2_500 }, (_, i) => `kp_legacy${String(i).padStart(18, "0")}`);
      const far = Date.now() + 3_600_000;
      await fx.admin.zadd(`${tag}:lives`, ...keys.flatMap((k) => [far, k]));
      await fx.admin.sadd(`${tag}:free`, ...keys);
      const a = await open();
      expect(await fx.admin.exists(`${tag}:free`)).toBe(0);
      expect(await fx.admin.hlen(`${tag}:free-pos`)).toBe(2_500);
      expect(a.freeCount()).toBe(2_500);
      const got = await a.acquire();
      expect(keys).toContain(got.key);
      expect(await a.stats()).toMatchObject({ total: 2_500, blocked: 1 });
    });

    test("settings and the catch-up budget are validated as KeyPool validates them", async () => {
      for (const bad of [{ blockTtlMs: 0 }, { keepaliveTtlMs: 1.5 }, { maxKeys: -1 }, { catchUpBudget: 0 }]) {
        await expect(RedisStore.open({ url: fx.url, pool: fx.pool, ...SETTINGS, ...bad })).rejects.toThrow(RangeError);
      }
    });

    test("each call does at most the catch-up budget of expiry work", async () => {
      const clock = new ManualClock();
      const a = await open({ clock, catchUpBudget: 3 });
      await a.generate(10);
      clock.advance(1);
      const [last] = await a.generate(1);
      clock.set(last!.expiresAt);
      await expect(a.get(last!.key)).rejects.toMatchObject({ code: "not-found" });
      // Three reclaimed by the catch-up (the earliest lives first), then the key asked for.
      expect(a.counters().expired).toBe(4);
    });
  });

  describe("RedisStore settings: Redis down at start", () => {
    test("the store serves UNAVAILABLE, then checks once Redis answers: matching settings serve", async () => {
      const own = await RedisServer.start();
      fx.defer(() => own.dispose());
      await own.stop();
      const a = await open({ url: own.url, readyTimeoutMs: 200, commandTimeoutMs: 500 });
      expect(a.isServing()).toBe(false);
      await expect(a.stats()).rejects.toMatchObject({ code: "unavailable" });
      await own.start();
      await eventually(() => a.isServing(), "the store to serve once Redis is up");
      expect(await a.generate(1)).toHaveLength(1);
    });

    test("other settings found once Redis answers: the store refuses for good and says why", async () => {
      const own = await RedisServer.start({ appendonly: true });
      fx.defer(() => own.dispose());
      const first = await open({ url: own.url });
      await first.close();
      await own.stop();
      const b = await open({ url: own.url, ...OTHER, readyTimeoutMs: 200, commandTimeoutMs: 500 });
      const refusals: PoolSettingsMismatch[] = [];
      b.onRefused((m) => refusals.push(m));
      await own.start();
      await eventually(() => refusals.length === 1, "the refusal");
      expect(refusals[0]!.fields).toEqual(["blockTtlMs", "maxKeys"]);
      expect(b.isServing()).toBe(false);
      await expect(b.acquire()).rejects.toMatchObject({
        code: "unavailable",
        message: expect.stringContaining("has blockTtlMs 60000 and maxKeys 2000 but this store was opened with"),
      });
    });
  });
}
