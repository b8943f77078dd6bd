import { Cluster } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { KeyPoolError } from "../../src/pool/index.js";
import type { KeyInfo } from "../../src/pool/index.js";
import type { RedisEndpoint } from "../../src/store/redis/endpoint.js";
import { POOL_KEY_NAMES } from "../../src/store/redis/pool-keys.js";
import { checkShardLayout } from "../../src/store/redis/shard-layout.js";
import { hashSlot, shardOf, shardTag } from "../../src/store/redis/shard-keys.js";
import { RedisPools } from "../../src/store/redis-pools.js";
import { ShardedRedisStore } from "../../src/store/sharded-redis-store.js";
import type { ShardedRedisStoreOptions } from "../../src/store/sharded-redis-store.js";
import { RedisClusterRig } from "../support/redis-cluster.js";
import { hasRedisServer } from "../support/redis-server.js";
import { describeStoreConformance } from "./conformance.js";

const SKIP_REASON = "redis-server not on PATH: install the Debian package redis-server";
const SETTINGS = { blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: 10_000 };
const SHARDS = 3;
const LIVES = POOL_KEY_NAMES.indexOf("lives");

if (!hasRedisServer()) {
  console.warn(`\n!!! ${SKIP_REASON}. EVERY Redis Cluster store test is SKIPPED. CI installs it and never skips. !!!\n`);
  test.skip(SKIP_REASON, () => {});
} else {
  let rig: RedisClusterRig;
  let admin: Cluster;
  let endpoint: RedisEndpoint;
  let pools = 0;
  const opened: ShardedRedisStore[] = [];

  /** A sharded store on a fresh pool of the shared cluster (closed and wiped after each test). */
  async function open(options: Partial<ShardedRedisStoreOptions> = {}): Promise<ShardedRedisStore> {
    const store = new ShardedRedisStore({ endpoint, pool: `t${++pools}`, shards: SHARDS, ...SETTINGS, ...options });
    opened.push(store);
    await store.ready();
    return store;
  }

  /** Closes the store and deletes every shard's Redis keys (one slot per shard). */
  async function wipe(store: ShardedRedisStore): Promise<void> {
    await store.close();
    await Promise.all(store.shards.map((s) => admin.del(...s.keys)));
  }

  beforeAll(async () => {
    rig = await RedisClusterRig.start({ replicas: 0 });
    endpoint = { kind: "cluster", nodes: rig.nodes.map((n) => ({ host: "127.0.0.1", port: n.port })) };
    admin = new Cluster([...endpoint.nodes]);
  }, 60_000);
  afterEach(async () => {
    await Promise.all(opened.splice(0).map(wipe));
  });
  afterAll(async () => {
    admin?.disconnect();
    await rig?.dispose();
  });

  // Three shards over three masters; a short sweep interval races the tests and must change nothing.
  describeStoreConformance(
    "redis cluster, 3 masters, 3 shards",
    async (settings) => {
      const store = new ShardedRedisStore({ endpoint, pool: `c${++pools}`, shards: SHARDS, ...settings, sweepIntervalMs: 20 });
      await store.ready();
      return { store, cleanup: () => wipe(store) };
    },
    {
      modelRuns: 30,
      capabilities: {
        // A server's named pools, 3 shards each; the cluster's masters are emptied after each test.
        poolSet: async (settings) => {
          const set = await RedisPools.open({ endpoint, shards: SHARDS, defaultPool: "home", maxPools: 5, ...settings, sweepIntervalMs: 20 });
          return {
            pools: set,
            cleanup: async () => {
              await set.close();
              await Promise.all(admin.nodes("master").map((node) => node.flushall()));
            },
          };
        },
      },
    },
  );

  describe("sharded Redis store on a cluster", () => {
    test("each shard's hash tag is in its own third of the slots, so each of 3 masters serves one shard", async () => {
      const store = await open();
      const masters = new Set<string>();
      for (const [i, shard] of store.shards.entries()) {
        const tag = shardTag(`t${pools}`, { index: i, count: SHARDS });
        expect(shard.keys[0]!.startsWith(`{${tag}}:`)).toBe(true);
        expect(Number(await admin.cluster("KEYSLOT", shard.keys[0]!))).toBe(hashSlot(tag));
        masters.add((await rig.masterOf(hashSlot(tag))).id);
      }
      expect(masters.size).toBe(SHARDS);
    });

    test("every key lives in the shard its hash names; keys spread over all shards", async () => {
      const store = await open();
      const made: KeyInfo[] = [];
      for (let i = 0; i < 6; i++) made.push(...(await store.generate(50)));
      const perShard = [0, 0, 0];
      for (const k of made) {
        const s = shardOf(k.key, SHARDS);
        perShard[s]!++;
        expect(await admin.zscore(store.shards[s]!.keys[LIVES]!, k.key)).not.toBeNull();
      }
      // GenerateKeys fills the emptiest shard, so six batches of 50 give each shard two.
      expect(perShard).toEqual([100, 100, 100]);
      expect(await store.stats()).toMatchObject({ total: 300, free: 300, blocked: 0 });
    });

    test("a waiting acquire is woken by a key freed in any shard", async () => {
      const store = await open();
      const events: number[] = [];
      store.onKeysFreed(() => events.push(Date.now()));
      const [k] = await store.generate(1);
      const got = await store.acquire();
      expect(got.key).toBe(k!.key);
      for (let until = Date.now() + 2_000; events.length === 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10));
      const before = events.length;
      await store.release(got.key, got.leaseId);
      for (let until = Date.now() + 2_000; events.length === before && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10));
      expect(events.length).toBeGreaterThan(before);
    });

    test("named pools share one pair of connections; a pool's events, imports and listing span its shards", async () => {
      const run = ++pools;
      const set = await RedisPools.open({ endpoint, defaultPool: `t${run}`, maxPools: 10, shards: SHARDS, ...SETTINGS, sweepIntervalMs: 0 });
      const names = [`alpha${run}`, `beta${run}`];
      try {
        const heard = new Set<string>();
        set.onKeysFreed((pool) => heard.add(pool));
        const imported = Array.from({ length: 60 }, (_, i) => `sk-cluster-${String(i).padStart(3, "0")}`);
        await set.pool(names[0]!, true).import(imported);
        await set.pool(names[1]!, true).generate(5);
        for (let until = Date.now() + 5_000; !names.every((n) => heard.has(n)) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10));
        expect([...heard].filter((n) => names.includes(n)).sort()).toEqual(names);
        // Each imported key lives in the shard its hash names, so every per-key call finds it.
        const store = set.pool(names[0]!, false);
        for (const key of imported.slice(0, 10)) expect(await admin.zscore(store.shards[shardOf(key, SHARDS)]!.keys[LIVES]!, key)).not.toBeNull();
        await expect(store.import([`sk-cluster-new`, imported[7]!])).rejects.toMatchObject({ code: "already-exists", message: expect.stringContaining("keys[1]") });
        const listed: string[] = [];
        let pageToken = "";
        do {
          const page = await store.list({ pageSize: 7, pageToken });
          listed.push(...page.keys.map((k) => k.key));
          pageToken = page.nextPageToken;
        } while (pageToken !== "");
        expect(listed.sort()).toEqual([...imported].sort());
      } finally {
        await set.close();
        await Promise.all([`t${run}`, ...names].map((n) => new ShardedRedisStore({ endpoint, pool: n, shards: SHARDS, ...SETTINGS, sweepIntervalMs: 0 })).map(wipe));
      }
    });

    test("a server started with another --pool-shards is refused, naming both values", async () => {
      await checkShardLayout(admin, "layout", 3);
      await checkShardLayout(admin, "layout", 3);
      await expect(checkShardLayout(admin, "layout", 2)).rejects.toThrow(
        'pool "layout" is split into 3 shards but this server has --pool-shards 2: start every server of the pool with --pool-shards 3',
      );
    });

    test("moving every shard's slot to another master mid-load: no key held twice, only UNAVAILABLE errors", async () => {
      const store = await open({ commandTimeoutMs: 3_000 });
      for (let i = 0; i < 4; i++) await store.generate(50);
      const held = new Map<string, string>();
      const violations: string[] = [];
      const codes = new Map<string, number>();
      let running = true;
      let acquired = 0;
      let duringMigration = 0;
      const worker = async (): Promise<void> => {
        while (running) {
          try {
            const got = await store.acquire();
            if (held.has(got.key)) violations.push(`${got.key.slice(0, 6)}… acquired while held`);
            held.set(got.key, got.leaseId!);
            acquired++;
            await new Promise((r) => setTimeout(r, 2));
            held.delete(got.key);
            // As a client does: retry the release (safe with the lease id) until it is answered.
            for (let done = false; !done; ) {
              done = await store.release(got.key, got.leaseId).then(
                () => true,
                async (err: unknown) => {
                  const code = `release ${err instanceof KeyPoolError ? err.code : String(err).slice(0, 300)}`;
                  codes.set(code, (codes.get(code) ?? 0) + 1);
                  await new Promise((r) => setTimeout(r, 5));
                  return !code.endsWith("unavailable");
                },
              );
            }
          } catch (err) {
            const code = err instanceof KeyPoolError ? err.code : String(err).slice(0, 160);
            codes.set(code, (codes.get(code) ?? 0) + 1);
            await new Promise((r) => setTimeout(r, 5));
          }
        }
      };
      const workers = Array.from({ length: 10 }, worker);
      for (const [i, shard] of store.shards.entries()) {
        const slot = Number(await admin.cluster("KEYSLOT", shard.keys[0]!));
        const owner = await rig.masterOf(slot);
        const others = (await rig.nodesInfo()).filter((n) => n.role === "master" && n.id !== owner.id);
        const before = acquired;
        // One Redis key per MIGRATE, 100 ms apart: the load runs into the slot's MIGRATING state (ASK, TRYAGAIN).
        await rig.migrateSlot(slot, others[i % others.length]!.address, { batch: 1, pauseMs: 100 });
        duringMigration += acquired - before;
        for (let until = Date.now() + 20_000; acquired < before + 60 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
      }
      running = false;
      await Promise.all(workers);
      console.info(`cluster reshard under load: ${JSON.stringify({ acquired, duringMigration, codes: Object.fromEntries(codes) })}`);
      expect(violations).toEqual([]);
      for (const code of codes.keys()) expect(code).toMatch(/unavailable$/);
      expect(acquired).toBeGreaterThan(150);
      expect(duringMigration).toBeGreaterThan(0);
      expect(await store.stats()).toMatchObject({ total: 200, free: 200, blocked: 0 });
    }, 90_000);
  });
}
