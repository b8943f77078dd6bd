import { Cluster, Redis } from "ioredis";
import { afterAll, describe, expect, test } from "vitest";
import { RedisClusterRig } from "../support/redis-cluster.js";
import { MASTER_NAME, RedisSentinelRig } from "../support/redis-sentinel.js";
import { hasRedisServer } from "../support/redis-server.js";

const SKIP_REASON = "redis-server not on PATH: install the Debian package redis-server";

/** The slot of the hash tag `{rig}` (CLUSTER KEYSLOT), where the test's key lives. */
const TAG = "{rig}";

if (!hasRedisServer()) {
  console.warn(`\n!!! ${SKIP_REASON}. The Redis cluster and sentinel rig tests are SKIPPED. CI installs it and never skips. !!!\n`);
  test.skip(SKIP_REASON, () => {});
} else {
  const disposers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.all(disposers.map((d) => d()));
  });

  describe("test rigs on real Redis processes", () => {
    test("cluster: 3 masters with a replica each; a killed master's replica takes over its data, and a moved slot takes its keys", async () => {
      const rig = await RedisClusterRig.start();
      disposers.push(() => rig.dispose());
      const nodes = await rig.nodesInfo();
      expect(nodes.filter((n) => n.role === "master" && n.slots.length > 0)).toHaveLength(3);
      expect(nodes.filter((n) => n.role === "replica")).toHaveLength(3);

      const client = new Cluster(rig.seeds.split(",").map((a) => ({ host: "127.0.0.1", port: Number(a.split(":")[1]) })));
      disposers.push(async () => client.disconnect());
      const slot = Number(await client.cluster("KEYSLOT", TAG));
      // WAIT goes where the write went only in one pipeline (a keyless command alone goes to any node).
      const replies = await client.pipeline().set(`${TAG}:a`, "1").call("WAIT", 1, 5_000).exec();
      expect(replies!.map(([, r]) => r)).toEqual(["OK", 1]);
      const before = await rig.masterOf(slot);
      const killed = await rig.killMasterOf(slot);
      const after = await rig.masterOf(slot);
      expect(after.id).not.toBe(before.id);
      expect(await client.get(`${TAG}:a`)).toBe("1");

      await killed.start();
      const other = (await rig.nodesInfo()).find((n) => n.role === "master" && n.id !== after.id && n.slots.length > 0)!;
      await rig.migrateSlot(slot, other.address);
      expect((await rig.masterOf(slot)).address).toBe(other.address);
      expect(await client.get(`${TAG}:a`)).toBe("1");
    }, 90_000);

    test("sentinel: a killed primary's replica is promoted with the data, and the old primary rejoins as its replica", async () => {
      const rig = await RedisSentinelRig.start();
      disposers.push(() => rig.dispose());
      const first = await rig.primary();
      const client = new Redis({ sentinels: rig.sentinels.map((s) => ({ host: "127.0.0.1", port: s.port })), name: MASTER_NAME });
      disposers.push(async () => client.disconnect());
      await client.set("k", "v");
      expect(await client.call("WAIT", 1, 5_000)).toBe(1);
      const outage = await rig.killPrimary();
      expect(outage).toBeGreaterThan(0);
      const second = await rig.primary();
      expect(second).not.toBe(first);
      expect(await second.admin().get("k")).toBe("v");
      expect(String(await first.admin().info("replication"))).toContain("role:slave");
    }, 90_000);
  });
}
