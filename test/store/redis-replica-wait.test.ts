import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RedisStore } from "../../src/store/redis-store.js";
import { RedisServer, hasRedisServer, pollUntil } from "../support/redis-server.js";

const SKIP_REASON = "redis-server not on PATH: install the Debian package redis-server";
const SETTINGS = { blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: 100 };
const WAIT = { replicas: 1, timeoutMs: 1_000 }; // generous: a busy machine delays the replica's ack

if (!hasRedisServer()) {
  console.warn(`\n!!! ${SKIP_REASON}. The --redis-wait-replicas tests are SKIPPED. CI installs it and never skips. !!!\n`);
  test.skip(SKIP_REASON, () => {});
} else {
  let primary: RedisServer;
  let replica: RedisServer | undefined;
  const stores: RedisStore[] = [];
  let pools = 0;

  async function open(): Promise<RedisStore> {
    const store = new RedisStore({ url: primary.url, pool: `w${++pools}`, ...SETTINGS, waitReplicas: WAIT, sweepIntervalMs: 0 });
    stores.push(store);
    await store.ready();
    return store;
  }

  beforeAll(async () => {
    primary = await RedisServer.start();
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await replica?.dispose();
    await primary?.dispose();
  });

  describe("RedisStore with waitReplicas", () => {
    test("without a replica every write answers UNAVAILABLE saying it may have happened; reads still answer", async () => {
      const store = await open();
      const err = await store.generate(2).then(() => undefined, (e: unknown) => e);
      expect(err).toMatchObject({ code: "unavailable" });
      expect((err as Error).message).toBe(
        `redis at 127.0.0.1:${primary.port} copied this write to 0 of the 1 replicas --redis-wait-replicas asks for ` +
          "within 1000 ms: the write may have happened but a failover could undo it; retry",
      );
      // It did happen on the primary: the caller was told it might have.
      expect(await store.stats()).toMatchObject({ total: 2, free: 2 });
      await expect(store.acquire()).rejects.toMatchObject({ code: "unavailable" });
    });

    test("with a replica linked, writes are acknowledged (also after SCRIPT FLUSH: EVAL in the same pipeline)", async () => {
      replica = await RedisServer.start({ args: ["--replicaof", "127.0.0.1", String(primary.port)] });
      await pollUntil(async () => String(await replica!.admin().info("replication")).includes("master_link_status:up"), "the replica did not link");
      // The replica says it is linked before the primary counts it for WAIT (its state there goes
      // online after the first sync): wait until the primary's own WAIT sees it.
      await pollUntil(async () => Number(await primary.admin().call("WAIT", "1", "100")) >= 1, "the primary never counted the replica");
      const store = await open();
      const [made] = await store.generate(1);
      const got = await store.acquire();
      expect(got.key).toBe(made!.key);
      await primary.admin().script("FLUSH");
      expect((await store.release(got.key, got.leaseId)).state).toBe("free");
      expect(await replica.admin().exists(...store.keys)).toBeGreaterThan(0);
    });
  });
}
