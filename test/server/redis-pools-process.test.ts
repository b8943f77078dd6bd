import * as grpc from "@grpc/grpc-js";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { KeyState } from "../../gen/keypool/v1/keypool_pb.js";
import type { KeyInfo } from "../../gen/keypool/v1/keypool_pb.js";
import { KeypoolProcess, healthOf } from "../support/redis-keypool.js";
import { RedisServer, hasRedisServer } from "../support/redis-server.js";

const SKIP_REASON = "redis-server not on PATH: install the Debian package redis-server";
const TTL = { blockTtl: "60s", keepaliveTtl: "5m" } as const;

if (!hasRedisServer()) {
  console.warn(`\n!!! ${SKIP_REASON}. The Redis named-pools process test is SKIPPED. CI installs it and never skips. !!!\n`);
  test.skip(SKIP_REASON, () => {});
} else {
  let redis: RedisServer;
  const servers: KeypoolProcess[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await redis?.dispose();
  });

  describe("two keypool serve --store redis processes share named pools", () => {
    test("import through one, acquire and cool through the other, list across both; pools never mix", async () => {
      const options = { redisUrl: redis.url, pool: "home", ...TTL };
      const [a, b] = await Promise.all([KeypoolProcess.start(options, servers), KeypoolProcess.start(options, servers)]);
      await healthOf([a, b], "SERVING");
      const secrets = Array.from({ length: 10 }, (_, i) => `sk-llm-${String(i).padStart(4, "0")}-${"z".repeat(40)}`);
      const imported = (await a.client.importKeys({ pool: "llm", keys: secrets })).keys;
      expect(imported.map((k) => [k.key, k.pool, k.state])).toEqual(secrets.map((k) => [k, "llm", KeyState.FREE]));
      await b.client.generateKeys({ pool: "other", count: 5 });

      // A worker on B gets a 429 and parks its key for a minute: nobody gets it meanwhile.
      const { key: held } = await b.client.acquireKey({ pool: "llm" });
      expect(secrets).toContain(held!.key);
      const cooled = (await b.client.releaseKey({ pool: "llm", key: held!.key, leaseId: held!.leaseId, cooldown: { seconds: 60n, nanos: 0 } })).key!;
      expect(cooled).toMatchObject({ state: KeyState.COOLING, pool: "llm" });
      // One minute from the release, judged by Redis's clock; life unchanged.
      expect(timestampMs(cooled.cooldownUntil!) - timestampMs(cooled.createdAt!)).toBeGreaterThanOrEqual(60_000);
      expect(timestampMs(cooled.cooldownUntil!) - timestampMs(cooled.createdAt!)).toBeLessThan(70_000);
      expect(cooled.expiresAt).toEqual(imported.find((k) => k.key === held!.key)!.expiresAt);
      expect((await a.client.getKey({ pool: "llm", key: held!.key })).key).toMatchObject({ state: KeyState.COOLING });
      expect(await a.client.getPoolStats({ pool: "llm" })).toMatchObject({ total: 10n, free: 9n, blocked: 0n, cooling: 1n });

      const others: KeyInfo[] = [];
      for (let i = 0; i < 9; i++) others.push((await (i % 2 ? a : b).client.acquireKey({ pool: "llm" })).key!);
      expect(new Set(others.map((k) => k.key)).size).toBe(9);
      expect(others.map((k) => k.key)).not.toContain(held!.key);
      for (const k of others) expect(secrets).toContain(k.key);
      await expect(a.client.acquireKey({ pool: "llm" })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      await expect(b.client.acquireKey({ pool: "" })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });

      // A listing begun on A continues on B; the COOLING filter finds the parked key.
      const first = await a.client.listKeys({ pool: "llm", pageSize: 4 });
      const listed = [...first.keys];
      for (let pageToken = first.nextPageToken; pageToken !== ""; ) {
        const page = await b.client.listKeys({ pool: "llm", pageSize: 4, pageToken });
        listed.push(...page.keys);
        pageToken = page.nextPageToken;
      }
      expect(listed.map((k) => k.key).sort()).toEqual([...secrets].sort());
      const cooling = await b.client.listKeys({ pool: "llm", state: KeyState.COOLING, pageSize: 100 });
      expect(cooling.keys.map((k) => k.key)).toEqual([held!.key]);

      // Importing a key the pool holds is ALREADY_EXISTS naming its index; the other pool is unaffected.
      await expect(b.client.importKeys({ pool: "llm", keys: ["sk-new-key-0001", secrets[3]!] })).rejects.toMatchObject({
        code: grpc.status.ALREADY_EXISTS,
        details: expect.stringContaining("keys[1]"),
      });
      expect(await a.client.getPoolStats({ pool: "other" })).toMatchObject({ total: 5n, free: 5n });
      expect([...a.errors, ...b.errors]).toEqual([]);
    }, 60_000);

    test("a named pool made by a server with other settings answers FAILED_PRECONDITION naming both; the default pool serves on", async () => {
      const a = await KeypoolProcess.start({ redisUrl: redis.url, pool: "home2", ...TTL }, servers);
      const c = await KeypoolProcess.start({ redisUrl: redis.url, pool: "elsewhere", blockTtl: "30s", keepaliveTtl: "5m" }, servers);
      await healthOf([a, c], "SERVING");
      await c.client.generateKeys({ pool: "strict", count: 1 });
      await expect(a.client.acquireKey({ pool: "strict" })).rejects.toMatchObject({
        code: grpc.status.FAILED_PRECONDITION,
        details: expect.stringMatching(/redis pool 'strict' has --block-ttl 30s but this server was started with --block-ttl 1m/),
      });
      expect(await a.health()).toBe("SERVING");
      expect((await a.client.generateKeys({ count: 1 })).keys).toHaveLength(1);
    }, 60_000);
  });
}
