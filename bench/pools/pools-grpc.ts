import type { BenchChild } from "../child.js";
import { SHAPE, measureWorkloads, serverFlags, startBenchServer, startClients, stopAll } from "../grpc-load.js";
import type { LoadResult } from "../grpc-load.js";
import { loadPlan } from "../grpc-section.js";
import type { WorkloadSpec } from "../keypool-workloads.js";
import type { BenchPlan } from "../plan.js";
import { median, round } from "../stats.js";

/** One shape over gRPC: its server and the workload that drives it. */
interface GrpcShape {
  readonly pools: number;
  readonly server: BenchChild;
  readonly address: string;
  readonly spec: WorkloadSpec;
  readonly results: LoadResult[];
}

/** Section 8c's result: AcquireKey + ReleaseKey over gRPC, the two shapes side by side. */
export interface PoolsGrpcResult {
  readonly method: string;
  /** Per round (one window per shape, back to back): server CPU per pair, many pools then one. */
  readonly rounds: readonly { readonly many: number; readonly one: number; readonly ratio: number }[];
  /** Median of the per-round ratios of server CPU per pair, many pools / one pool. */
  readonly cpuRatio: number;
  readonly manyCpuUs: number;
  readonly oneCpuUs: number;
  readonly manyOpsPerSec: number;
  readonly oneOpsPerSec: number;
  readonly errors: Record<string, number>;
}

/**
 * Section 8c: the server side of AcquireKey + ReleaseKey over gRPC, `plan.poolsCount` pools of
 * `plan.keysPerPool` keys against one pool of all of them: two bench servers (memory
 * EmbeddedPools, one process each) up at once, the same load clients driving one window on each
 * in turn (the order alternating per round), each pair in a pool drawn at random by name; judged
 * by server CPU per pair, which the load clients' share of the two cores does not blur.
 */
export async function poolsGrpc(plan: BenchPlan): Promise<PoolsGrpcResult> {
  const total = plan.poolsCount * plan.keysPerPool;
  const shapes: GrpcShape[] = [];
  let clients: BenchChild[] = [];
  try {
    for (const pools of [plan.poolsCount, 1]) {
      const { server, address } = await startBenchServer("memory", total, {}, serverFlags(), ["--pools", String(pools)]);
      shapes.push({ pools, server, address, spec: { ...SHAPE, name: "acquire-release", keys: 0, pools }, results: [] });
    }
    clients = startClients(plan.grpcClients);
    const window = { ...loadPlan(plan), rounds: 1 };
    const rounds: { many: number; one: number; ratio: number }[] = [];
    for (let r = 0; r < plan.grpcRounds * 2; r++) {
      for (const s of r % 2 === 0 ? shapes : [...shapes].reverse()) {
        s.results.push((await measureWorkloads(clients, s.address, [s.spec], window, s.server))[0]!);
      }
      const [many, one] = shapes.map((s) => s.results.at(-1)!.serverCpuUsPerOp ?? NaN) as [number, number];
      rounds.push({ many, one, ratio: round(many / one, 3) });
    }
    const [m, o] = shapes as [GrpcShape, GrpcShape];
    const errors: Record<string, number> = {};
    for (const res of [...m.results, ...o.results]) for (const [code, n] of Object.entries(res.errors)) errors[code] = (errors[code] ?? 0) + n;
    return {
      method:
        `two bench servers (bench/bench-server.ts --pools N, memory EmbeddedPools, ${total.toLocaleString("en-US")} keys each), ` +
        `${plan.grpcClients} load-client processes x ${SHAPE.concurrency} closed loops of AcquireKey{pool} + ReleaseKey{pool}, ` +
        `pool drawn at random per pair; ${plan.grpcWarmupMs} ms warm-up + ${plan.grpcDurationMs} ms window per shape, ` +
        `${plan.grpcRounds * 2} rounds, order alternating; server CPU (user + system) per pair, median of per-round ratios`,
      rounds,
      cpuRatio: round(median(rounds.map((x) => x.ratio)), 3),
      manyCpuUs: round(median(rounds.map((x) => x.many)), 1),
      oneCpuUs: round(median(rounds.map((x) => x.one)), 1),
      manyOpsPerSec: Math.round(median(m.results.map((x) => x.opsPerSec))),
      oneOpsPerSec: Math.round(median(o.results.map((x) => x.opsPerSec))),
      errors,
    };
  } finally {
    await stopAll(clients);
    await Promise.all(shapes.map((s) => s.server.stop()));
  }
}
