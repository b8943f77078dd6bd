import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backgroundScheduler } from "../src/scheduler.js";
import { systemRandom } from "../src/random.js";
import type { KeyStore } from "../src/store/key-store.js";
import { EmbeddedStore } from "../src/store/embedded-store.js";

/** Store kinds the gRPC benchmarks can serve. */
export const STORE_KINDS = ["memory", "durable", "redis", "redis-cluster"] as const;

/** The production TTLs (the `serve` defaults). */
/** The production TTLs every bench store runs with. */
export const TTLS = { blockTtlMs: 60_000, keepaliveTtlMs: 300_000 } as const;

/**
 * Opens a store of `kind` with the production clock, randomness and TTLs: memory; durable in a
 * fresh temp data dir; redis at KEYPOOL_REDIS_URL (the orchestrator starts a throwaway
 * redis-server on loopback and passes its URL). The Redis store is imported
 * lazily so a missing or broken one only costs its own row.
 */
export async function openBenchStore(kind: string, maxKeys: number): Promise<KeyStore> {
  const common = { ...TTLS, maxKeys, scheduler: backgroundScheduler, random: systemRandom };
  switch (kind) {
    case "memory":
      return EmbeddedStore.memory(common);
    case "durable": {
      const dataDir = mkdtempSync(join(tmpdir(), "keypool-bench-durable-"));
      process.once("exit", () => rmSync(dataDir, { recursive: true, force: true }));
      return EmbeddedStore.open({ ...common, dataDir });
    }
    case "redis": {
      const url = process.env.KEYPOOL_REDIS_URL;
      if (!url) throw new Error("KEYPOOL_REDIS_URL is not set");
      const { RedisStore } = await import("../src/store/redis-store.js");
      // Sections reuse the pool with their own capacity: each takes the pool's settings over.
      return RedisStore.open({ url, pool: "bench", ...TTLS, maxKeys, updateSettings: true });
    }
    case "redis-cluster": {
      // KEYPOOL_REDIS_CLUSTER, KEYPOOL_POOL_SHARDS, KEYPOOL_REDIS_WAIT_REPLICAS: set by the cluster section.
      const { parseHostPorts } = await import("../src/store/redis/endpoint.js");
      const { ShardedRedisStore } = await import("../src/store/sharded-redis-store.js");
      const nodes = parseHostPorts(process.env.KEYPOOL_REDIS_CLUSTER ?? "", "redis-cluster");
      const replicas = Number(process.env.KEYPOOL_REDIS_WAIT_REPLICAS ?? 0);
      const redis = {
        endpoint: { kind: "cluster" as const, nodes },
        shards: Number(process.env.KEYPOOL_POOL_SHARDS ?? 1),
        waitReplicas: replicas > 0 ? { replicas, timeoutMs: 1_000 } : undefined,
      };
      const store = new ShardedRedisStore({ ...TTLS, maxKeys, ...redis, pool: "bench", updateSettings: true });
      await store.ready(10_000);
      await store.checkSettings();
      return store;
    }
    default:
      throw new Error(`unknown store "${kind}": expected ${STORE_KINDS.join(", ")}`);
  }
}
