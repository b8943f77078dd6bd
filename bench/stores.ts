import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../src/clock.js";
import { systemRandom } from "../src/random.js";
import type { KeyStore } from "../src/store/key-store.js";
import { MemoryStore } from "../src/store/memory-store.js";

/** Store kinds the gRPC benchmarks can serve. */
export const STORE_KINDS = ["memory", "durable", "redis"] as const;

/** The production TTLs (the `serve` defaults). */
const TTLS = { blockTtlMs: 60_000, keepaliveTtlMs: 300_000 } as const;

/**
 * Opens a store of `kind` with the production clock, randomness and TTLs: memory; durable in a
 * fresh temp data dir; redis at KEYPOOL_REDIS_URL (the orchestrator starts a throwaway
 * redis-server on loopback and passes its URL). The durable and Redis stores are imported
 * lazily so a missing or broken one only costs its own row.
 */
export async function openBenchStore(kind: string, maxKeys: number): Promise<KeyStore> {
  const common = { ...TTLS, maxKeys, clock: systemClock, random: systemRandom };
  switch (kind) {
    case "memory":
      return new MemoryStore(common);
    case "durable": {
      const { DurableStore } = await import("../src/store/durable-store.js");
      const dataDir = mkdtempSync(join(tmpdir(), "keypool-bench-durable-"));
      process.once("exit", () => rmSync(dataDir, { recursive: true, force: true }));
      return DurableStore.open({ ...common, dataDir });
    }
    case "redis": {
      const url = process.env.KEYPOOL_REDIS_URL;
      if (!url) throw new Error("KEYPOOL_REDIS_URL is not set");
      const { RedisStore } = await import("../src/store/redis-store.js");
      // Sections reuse the pool with their own capacity: each takes the pool's settings over.
      return RedisStore.open({ url, pool: "bench", ...TTLS, maxKeys, updateSettings: true });
    }
    default:
      throw new Error(`unknown store "${kind}": expected ${STORE_KINDS.join(", ")}`);
  }
}
