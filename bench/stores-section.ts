import type { BenchChild } from "./child.js";
import { startRedis } from "./external-server.js";
import type { ExternalServer } from "./external-server.js";
import { measureWorkloads, startBenchServer, startClients, stopAll } from "./grpc-load.js";
import type { LoadResult } from "./grpc-load.js";
import { GRPC_WORKLOADS, loadMethod, loadPlan } from "./grpc-section.js";
import type { BenchPlan } from "./plan.js";
import { round } from "./stats.js";

/** One store's row: its results and their ratios to memory, or why it was not measured. */
export interface StoreRow {
  readonly store: string;
  readonly results?: LoadResult[] | undefined;
  /** Per workload: this store's throughput over memory's. */
  readonly ratios?: Record<string, number> | undefined;
  readonly notMeasured?: string | undefined;
}

/** Section 5's result. */
export interface StoresResult {
  readonly method: string;
  readonly rows: StoreRow[];
}

const WORKLOADS = GRPC_WORKLOADS.filter((w) => w.name !== "echo");

async function measureStore(plan: BenchPlan, store: string): Promise<LoadResult[]> {
  let redis: ExternalServer | undefined;
  let clients: BenchChild[] = [];
  let server: BenchChild | undefined;
  try {
    const env: Record<string, string> = {};
    if (store === "redis") {
      redis = await startRedis();
      env.KEYPOOL_REDIS_URL = `redis://127.0.0.1:${redis.port}/0`;
    }
    const started = await startBenchServer(store, plan.grpcPoolKeys, env);
    server = started.server;
    clients = startClients(plan.grpcClients);
    return await measureWorkloads(clients, started.address, WORKLOADS, { ...loadPlan(plan), rounds: plan.storeRounds }, server);
  } finally {
    await stopAll(clients);
    await server?.stop();
    await redis?.stop();
  }
}

/**
 * Section 5: the same gRPC workloads on the memory, durable and Redis stores, as ratios to
 * memory. A store that cannot be opened gets a "not measured" row with the reason.
 */
export async function storesSection(plan: BenchPlan): Promise<StoresResult> {
  const rows: StoreRow[] = [];
  for (const store of ["memory", "durable", "redis"]) {
    try {
      rows.push({ store, results: await measureStore(plan, store) });
    } catch (err) {
      const reason = (err instanceof Error ? err.message : String(err)).split("\n")[0]!;
      rows.push({ store, notMeasured: reason });
    }
  }
  const memory = rows[0]?.results;
  for (const [i, row] of rows.entries()) {
    if (!row.results || !memory) continue;
    const ratios = Object.fromEntries(
      row.results.map((r, j) => [r.workload, round(r.itemsPerSec / Math.max(1, memory[j]!.itemsPerSec), 2)]),
    );
    rows[i] = { ...row, ratios };
  }
  return { method: `${loadMethod({ ...plan, grpcRounds: plan.storeRounds }, "each")}; durable in a fresh temp data dir; redis: a throwaway redis-server on loopback`, rows };
}
