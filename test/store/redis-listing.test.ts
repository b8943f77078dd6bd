import { describe, expect, test } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { REFUSALS } from "../../src/pool/index.js";
import { encodeListToken } from "../../src/store/redis/list-token.js";
import { PoolSettingsMismatch } from "../../src/store/redis/settings-gate.js";
import { eventually } from "../support/eventually.js";
import { scan } from "./conformance/listing.js";
import { hasRedisServer } from "../support/redis-server.js";
import { redisStoreFixture } from "../support/redis-store-fixture.js";

const SKIP_REASON = "redis-server not on PATH: install the Debian package redis-server";
const SETTINGS = { blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: 5_000 };

if (!hasRedisServer()) {
  console.warn(`\n!!! ${SKIP_REASON}. EVERY Redis listing and cooldown test is SKIPPED. CI installs it and never skips. !!!\n`);
  test.skip(SKIP_REASON, () => {});
} else {
  const fx = redisStoreFixture("l", SETTINGS);
  const open = fx.open;

  describe("Redis listing: a creation sequence per pool", () => {
    test("tokens are opaque, carry no key text, and a token of another pool or a garbled one is INVALID_ARGUMENT", async () => {
      const store = await open();
      const made = await store.generate(10);
      const page = await store.list({ pageSize: 3, pageToken: "" });
      expect(page.nextPageToken).toMatch(/^[A-Za-z0-9_-]+$/);
      for (const k of made) expect(Buffer.from(page.nextPageToken, "base64url").toString("latin1")).not.toContain(k.key.slice(3, 9));
      for (const pageToken of [encodeListToken("another", 1, { shard: 0, after: 3 }), "garbage!", page.nextPageToken.slice(1)]) {
        await expect(store.list({ pageSize: 3, pageToken })).rejects.toMatchObject({
          code: "invalid-argument",
          message: expect.stringContaining("start the listing over"),
        });
      }
      await expect(store.list({ pageSize: 3, pageToken: page.nextPageToken, state: "free" })).rejects.toMatchObject({
        code: "invalid-argument",
        message: expect.stringContaining("another state filter"),
      });
    });

    test("a pool made before listing has its keys given a sequence on open, in bounded steps", async () => {
      const old = await open();
      const made = [...(await old.generate(1_000)), ...(await old.generate(1_000)), ...(await old.generate(500))];
      await old.close();
      // What such a pool looks like: no order, no sequence, and no maxCooldownMs in its settings.
      await fx.admin.del(`{keypool:${fx.pool}}:order`, `{keypool:${fx.pool}}:seq`);
      await fx.admin.hdel(`{keypool:${fx.pool}}:settings`, "maxCooldownMs");
      const store = await open({ maxCooldownMs: 120_000 });
      const { keys } = await scan(store, 1_000);
      expect(keys).toHaveLength(2_500);
      expect(new Set(keys.map((k) => k.key))).toEqual(new Set(made.map((k) => k.key)));
      // The missing setting is this server's: no earlier server can have had another.
      expect(await fx.admin.hget(`{keypool:${fx.pool}}:settings`, "maxCooldownMs")).toBe("120000");
      expect(store.describe().details).toMatchObject({ settings: "the pool's settings match this server's" });
      await expect(open({ maxCooldownMs: 60_000 })).rejects.toBeInstanceOf(PoolSettingsMismatch);
    });
  });

  describe("Redis cooldowns", () => {
    test("a cooling key cannot be renewed; the sweeper alone ends its cooldown at exactly cooldownUntil, and the freed key wakes listeners", async () => {
      const clock = new ManualClock();
      const store = await open({ clock });
      const [key] = await store.generate(1);
      const heard = { count: 0 };
      const off = store.onKeysFreed(() => heard.count++);
      fx.defer(async () => off());
      const held = await store.acquire();
      await store.release(key!.key, held.leaseId, 5_000);
      await expect(store.renew(key!.key, held.leaseId!)).rejects.toMatchObject({
        code: "failed-precondition",
        message: REFUSALS.cooling.message,
      });
      clock.advance(4_999);
      expect((await store.sweepOnce()).work).toBe(0);
      const before = heard.count;
      clock.advance(1);
      expect(await store.sweepOnce()).toMatchObject({ work: 1 });
      await eventually(() => heard.count > before, "the freed-keys event of the ended cooldown");
      expect(await fx.admin.zcard(`{keypool:${fx.pool}}:cooling`)).toBe(0);
      expect((await store.acquire()).key).toBe(key!.key);
    });

    test("a cooling key that dies is purged from every structure; a cooldown past the pool's --max-cooldown is refused", async () => {
      const clock = new ManualClock();
      const store = await open({ clock, maxCooldownMs: 600_000 });
      const [key] = await store.generate(1);
      await expect(store.release(key!.key, undefined, 600_001)).rejects.toMatchObject({
        code: "invalid-argument",
        message: expect.stringContaining("--max-cooldown"),
      });
      await store.release(key!.key, undefined, 600_000);
      clock.advance(SETTINGS.keepaliveTtlMs);
      expect(await store.stats()).toMatchObject({ total: 0, cooling: 0 });
      await expect(store.get(key!.key)).rejects.toMatchObject({ code: "not-found" });
      const tag = `{keypool:${fx.pool}}`;
      expect(await fx.admin.exists(`${tag}:cooling`, `${tag}:order`, `${tag}:lives`, `${tag}:free-at`)).toBe(0);
    });
  });
}
