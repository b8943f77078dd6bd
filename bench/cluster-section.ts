import { RedisClusterRig } from "../test/support/redis-cluster.js";
import type { RedisServer } from "../test/support/redis-server.js";
import type { BenchChild } from "./child.js";
import { measureWorkloads, startBenchServer, startClients, stopAll } from "./grpc-load.js";
import type { LoadResult } from "./grpc-load.js";
import { GRPC_WORKLOADS, loadPlan } from "./grpc-section.js";
import type { BenchPlan } from "./plan.js";
import type { Table } from "./report.js";
import { ShardedRedisStore } from "../src/store/sharded-redis-store.js";
import { round } from "./stats.js";

/** One measured cluster configuration. */
export interface ClusterRow {
  readonly masters: number;
  readonly shards: number;
  readonly replicasPerMaster: number;
  readonly waitReplicas: number;
  readonly result?: LoadResult | undefined;
  /** Throughput over the 1-master row's (or, for the wait row, over the same cluster without WAIT). */
  readonly ratio?: number | undefined;
  /** CPU each master's redis-server used during the measurement, as a share of one core. */
  readonly masterCpu?: number[] | undefined;
  /** Redis CPU per AcquireKey+ReleaseKey pair, all masters (and replicas), in µs. */
  readonly redisCpuUsPerPair?: number | undefined;
  /** The same pairs driven in this process straight through the store (no gRPC): pairs/s. */
  readonly directPairsPerSec?: number | undefined;
  /** Redis CPU per pair in the direct run, all nodes, in µs. */
  readonly directRedisCpuUsPerPair?: number | undefined;
  readonly notMeasured?: string | undefined;
}

/** Section 7's result. */
export interface ClusterResult {
  readonly method: string;
  readonly rows: ClusterRow[];
}

const WORKLOAD = GRPC_WORKLOADS.filter((w) => w.name === "acquire-release");

/** Seconds of CPU a redis-server used so far (INFO cpu: user + sys, its children excluded). */
async function redisCpuS(node: RedisServer): Promise<number> {
  const info = String(await node.admin().info("cpu"));
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? 0);
  return field("used_cpu_user") + field("used_cpu_sys");
}

interface Config {
  readonly masters: number;
  readonly replicas: number;
  readonly wait: number;
}

async function measure(plan: BenchPlan, config: Config): Promise<ClusterRow> {
  const base = { masters: config.masters, shards: config.masters, replicasPerMaster: config.replicas, waitReplicas: config.wait };
  let rig: RedisClusterRig | undefined;
  let clients: BenchChild[] = [];
  let server: BenchChild | undefined;
  try {
    rig = await RedisClusterRig.start({ masters: config.masters, replicas: config.replicas, nodeTimeoutMs: 15_000 });
    const env = { KEYPOOL_REDIS_CLUSTER: rig.seeds, KEYPOOL_POOL_SHARDS: String(config.masters), KEYPOOL_REDIS_WAIT_REPLICAS: String(config.wait) };
    const started = await startBenchServer("redis-cluster", plan.grpcPoolKeys, env);
    server = started.server;
    clients = startClients(plan.grpcClients);
    const masters = (await rig.nodesInfo()).filter((n) => n.role === "master").map((n) => rig!.node(n.address));
    const before = await Promise.all(rig.nodes.map(redisCpuS));
    const startedAt = Date.now();
    const [result] = await measureWorkloads(clients, started.address, WORKLOAD, { ...loadPlan(plan), rounds: plan.storeRounds }, server);
    const wallS = (Date.now() - startedAt) / 1000;
    const after = await Promise.all(rig.nodes.map(redisCpuS));
    const used = rig.nodes.map((_, i) => after[i]! - before[i]!);
    const masterCpu = masters.map((m) => round(used[rig!.nodes.indexOf(m)]! / wallS, 2));
    // The ops counted are the windows' only; CPU covers warm-ups and preparation too: an upper bound.
    const measuredS = (plan.storeRounds * plan.grpcDurationMs) / 1000;
    const pairs = result!.opsPerSec * measuredS;
    const redisCpuUsPerPair = round((used.reduce((s, x) => s + x, 0) * 1e6 * (measuredS / wallS)) / Math.max(1, pairs), 1);
    await stopAll(clients);
    await server.stop();
    clients = [];
    server = undefined;
    const direct = await measureDirect(plan, rig, config);
    return { ...base, result, masterCpu, redisCpuUsPerPair, ...direct };
  } catch (err) {
    return { ...base, notMeasured: (err instanceof Error ? err.message : String(err)).split("\n")[0]! };
  } finally {
    await stopAll(clients);
    await server?.stop();
    await rig?.dispose();
  }
}

/** Concurrent acquire+release loops of the direct (in-process) run. */
const DIRECT_LOOPS = 64;

/**
 * AcquireKey+ReleaseKey pairs driven straight through a ShardedRedisStore in this process, on the
 * pool the bench server preloaded: what Redis and the store's client side do without gRPC.
 */
async function measureDirect(plan: BenchPlan, rig: RedisClusterRig, config: Config): Promise<Partial<ClusterRow>> {
  const nodes = rig.nodes.map((n) => ({ host: "127.0.0.1", port: n.port }));
  const waitReplicas = config.wait > 0 ? { replicas: config.wait, timeoutMs: 1_000 } : undefined;
  const store = new ShardedRedisStore({
    endpoint: { kind: "cluster", nodes }, shards: config.masters, pool: "bench", waitReplicas,
    blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: plan.grpcPoolKeys + 1_000_000, updateSettings: true,
  });
  try {
    await store.ready(10_000);
    await store.checkSettings();
    const before = await Promise.all(rig.nodes.map(redisCpuS));
    const started = Date.now();
    let pairs = 0;
    await Promise.all(
      Array.from({ length: DIRECT_LOOPS }, async () => {
        while (Date.now() - started < plan.grpcDurationMs) {
          const got = await store.acquire();
          await store.release(got.key, got.leaseId);
          pairs++;
        }
      }),
    );
    const wallS = (Date.now() - started) / 1000;
    const after = await Promise.all(rig.nodes.map(redisCpuS));
    const used = after.reduce((sum, x, i) => sum + x - before[i]!, 0);
    return { directPairsPerSec: Math.round(pairs / wallS), directRedisCpuUsPerPair: round((used * 1e6) / Math.max(1, pairs), 1) };
  } finally {
    await store.close();
  }
}

/**
 * Section 7: AcquireKey+ReleaseKey through one bench server on a Redis Cluster of 1, 2 and 3
 * masters (pool-shards = masters, 10^5 keys in full mode), as ratios to one master, and the
 * cost of --redis-wait-replicas 1 on a master with one replica. Per-master Redis CPU shows what
 * bounds the ratios: on two cores the keypool server and the load clients take most of it.
 */
export async function clusterSection(plan: BenchPlan): Promise<ClusterResult> {
  const configs: Config[] = [
    { masters: 1, replicas: 0, wait: 0 },
    { masters: 2, replicas: 0, wait: 0 },
    { masters: 3, replicas: 0, wait: 0 },
    { masters: 1, replicas: 1, wait: 0 },
    { masters: 1, replicas: 1, wait: 1 },
  ];
  const rows: ClusterRow[] = [];
  for (const config of configs) rows.push(await measure(plan, config));
  const rate = (r: ClusterRow | undefined): number | undefined => r?.result?.opsPerSec;
  const one = rate(rows[0]);
  for (const [i, row] of rows.entries()) {
    const reference = i < 3 ? one : rate(rows[3]);
    const own = rate(row);
    if (own !== undefined && reference) rows[i] = { ...row, ratio: round(own / reference, 2) };
  }
  return {
    method:
      `one bench server (bench/bench-server.ts, --store redis-cluster) over a RedisClusterRig (test/support), ` +
      `${plan.grpcPoolKeys.toLocaleString("en-US")} keys, pool-shards = masters, ${plan.grpcClients} grpc-js load clients x 32 closed loops ` +
      `of AcquireKey+ReleaseKey, ${plan.grpcWarmupMs} ms warm-up + ${plan.grpcDurationMs} ms window, ${plan.storeRounds} round(s), median; ` +
      `Redis CPU from INFO cpu over the whole measurement; then ${DIRECT_LOOPS} acquire+release loops in the bench process straight ` +
      `through the store for ${plan.grpcDurationMs} ms ("direct")`,
    rows,
  };
}

/** Section 7's table: one row per configuration. */
export function clusterTable(r: ClusterResult): Table {
  return {
    title: "7. Redis Cluster: AcquireKey+ReleaseKey pairs/s by masters (pool-shards = masters) and --redis-wait-replicas",
    method: r.method,
    headers: [
      "masters", "replicas each", "wait replicas", "pairs/s", "ratio", "p99 ms", "server CPU µs/pair", "Redis CPU µs/pair",
      "master CPU (cores)", "direct pairs/s", "direct Redis CPU µs/pair", "errors",
    ],
    rows: r.rows.map((row) =>
      row.result
        ? [
            row.masters, row.replicasPerMaster, row.waitReplicas, row.result.opsPerSec, `x${row.ratio ?? "-"}`, row.result.p99Ms,
            row.result.serverCpuUsPerOp ?? "-", row.redisCpuUsPerPair ?? "-", (row.masterCpu ?? []).join(" / "),
            row.directPairsPerSec ?? "-", row.directRedisCpuUsPerPair ?? "-", JSON.stringify(row.result.errors),
          ]
        : [row.masters, row.replicasPerMaster, row.waitReplicas, `not measured: ${row.notMeasured}`, "", "", "", "", "", "", "", ""],
    ),
  };
}
