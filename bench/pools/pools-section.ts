import { runChild } from "../child.js";
import { waitForQuiet } from "../machine-load.js";
import type { BenchPlan, GoalRow } from "../plan.js";
import { verdict } from "../plan.js";
import type { Table } from "../report.js";
import { round } from "../stats.js";
import { poolsGrpc } from "./pools-grpc.js";
import type { PoolsGrpcResult } from "./pools-grpc.js";

/** ns per AcquireKey (+ its release) through the embedded PoolSet, for one shape of the keys. */
export interface ShapeRow {
  readonly pools: number;
  readonly keysPerPool: number;
  readonly nsPerAcquire: number;
  /** ns/op of each round, in the order measured. */
  readonly rounds: readonly number[];
}

/** Section 8's result. */
export interface PoolsResult {
  readonly method: string;
  readonly many: ShapeRow;
  readonly one: ShapeRow;
  /** Control: the many-pool shape with BLOCK ops in a row per pool (acquire-probe.ts). */
  readonly manyLocal: ShapeRow;
  /** Median over rounds of (many pools ns / one pool ns), each round measuring both back to back. */
  readonly ratio: number;
  readonly memoryMethod: string;
  /** Bytes per imported key of IMPORTED_KEY_CHARS characters, all free and all blocked. */
  readonly importedKeys: number;
  readonly importedKeyChars: number;
  readonly importedFree: Record<string, number>;
  readonly importedBlocked: Record<string, number>;
  /** (c) The same comparison over gRPC, by server CPU per AcquireKey + ReleaseKey. */
  readonly grpc: PoolsGrpcResult;
}

/**
 * Section 8: named pools. (a) AcquireKey + release through the embedded PoolSet, the same total
 * of keys as `plan.poolsCount` pools of `plan.keysPerPool` keys and as one pool of all of them,
 * both in ONE process and measured in alternating rounds, so the ratio is judged within a run.
 * (b) Bytes per key of a pool of imported 51-character keys. (c) The comparison of (a) over
 * gRPC, as a client pays it (pools-grpc.ts).
 */
export async function poolsSection(plan: BenchPlan): Promise<PoolsResult> {
  if (plan.quietWaitMs) await waitForQuiet(plan.quietWaitMs);
  const args = ["--pools", String(plan.poolsCount), "--keys-per-pool", String(plan.keysPerPool), "--ops", String(plan.poolOps), "--rounds", String(plan.poolRuns * 2)];
  const a = await runChild("pools/acquire-probe.ts", args, [], 900_000);
  const total = plan.poolsCount * plan.keysPerPool;
  const m = await runChild("pools/imported-memory-probe.ts", ["--size", String(total)], ["--expose-gc"], 600_000);
  const shape = (s: Record<string, unknown>): ShapeRow => ({
    pools: s.pools as number, keysPerPool: s.keysPerPool as number,
    nsPerAcquire: round(s.nsPerAcquire as number, 0), rounds: (s.rounds as number[]).map((x) => round(x, 0)),
  });
  return {
    method:
      `EmbeddedPools (memory), systemRandom, manual clock; one process (node --import tsx bench/pools/acquire-probe.ts) ` +
      `holding both shapes; per op a pool picked uniformly at random by name, pool(name).acquire() then release(); ` +
      `warm-up, then ${plan.poolRuns * 2} rounds of ${plan.poolOps} ops per shape, the shapes alternating; median of rounds; ` +
      `control row: the many-pool shape with 100 ops in a row per pool (same calls, pools warm in cache)`,
    many: shape(a.many as Record<string, unknown>),
    one: shape(a.one as Record<string, unknown>),
    manyLocal: shape(a.manyLocal as Record<string, unknown>),
    ratio: round(a.ratio as number, 3),
    memoryMethod:
      "node --expose-gc: 4 x gc(), used heap + external before and after importing the keys into a KeyPool " +
      "(capacity = keys), then after acquiring every key; difference / keys",
    importedKeys: total,
    importedKeyChars: m.keyChars as number,
    importedFree: m.allFree as Record<string, number>,
    importedBlocked: m.allBlocked as Record<string, number>,
    grpc: await poolsGrpc(plan),
  };
}

/** The goals section 8 checks. */
export function poolsGoals(r: PoolsResult): GoalRow[] {
  const shape = `${r.many.pools.toLocaleString("en-US")} pools x ${r.many.keysPerPool.toLocaleString("en-US")} keys / 1 pool x ${r.one.keysPerPool.toLocaleString("en-US")}`;
  return [
    {
      section: "8 pools",
      what: `AcquireKey+ReleaseKey over gRPC, server CPU per pair, ${shape}`,
      goal: "<= 1.10",
      measured: `${r.grpc.cpuRatio} (${r.grpc.manyCpuUs} vs ${r.grpc.oneCpuUs} us; ${r.grpc.manyOpsPerSec} vs ${r.grpc.oneOpsPerSec} pairs/s)`,
      status: verdict(r.grpc.cpuRatio <= 1.1),
    },
    {
      section: "8 pools",
      what: `acquire + release through the embedded PoolSet alone (the pool's part, no RPC), ${shape}`,
      goal: "<= 1.10",
      measured: `${r.ratio} (${r.many.nsPerAcquire} vs ${r.one.nsPerAcquire} ns)`,
      status: verdict(r.ratio <= 1.1),
    },
    {
      section: "8 pools",
      what: `bytes/key, ${r.importedKeys.toLocaleString("en-US")} imported ${r.importedKeyChars}-char keys`,
      goal: "-",
      measured: `${r.importedFree.totalBytesPerKey} B free, ${r.importedBlocked.totalBytesPerKey} B blocked`,
      status: "INFO",
    },
  ];
}

/** The tables section 8 prints. */
export function poolsTables(r: PoolsResult): Table[] {
  const row = (s: ShapeRow): (string | number)[] => [s.pools.toLocaleString("en-US"), s.keysPerPool.toLocaleString("en-US"), s.nsPerAcquire, s.rounds.join(" ")];
  return [
    {
      title: "8. Named pools: AcquireKey + release, ns/op (median of alternating rounds)",
      method: r.method,
      headers: ["pools", "keys per pool", "ns/op", "rounds"],
      rows: [row(r.many), row(r.one), ["ratio", "", r.ratio, ""], [`${r.manyLocal.pools.toLocaleString("en-US")}, 100 ops in a row per pool`, ...row(r.manyLocal).slice(1)]],
    },
    {
      title: `8b. Memory of ${r.importedKeys.toLocaleString("en-US")} imported ${r.importedKeyChars}-character keys, bytes per key`,
      method: r.memoryMethod,
      headers: ["state", "V8 heap", "external (ArrayBuffers)", "total"],
      rows: [
        ["all free", r.importedFree.heapBytesPerKey!, r.importedFree.externalBytesPerKey!, r.importedFree.totalBytesPerKey!],
        ["all blocked", r.importedBlocked.heapBytesPerKey!, r.importedBlocked.externalBytesPerKey!, r.importedBlocked.totalBytesPerKey!],
      ],
    },
    {
      title: "8c. Named pools over gRPC: server CPU per AcquireKey + ReleaseKey, us (per round, order alternating)",
      method: r.grpc.method,
      headers: ["round", `${r.many.pools.toLocaleString("en-US")} pools`, "1 pool", "ratio"],
      rows: [
        ...r.grpc.rounds.map((x, i) => [String(i + 1), x.many, x.one, x.ratio]),
        ["median", r.grpc.manyCpuUs, r.grpc.oneCpuUs, r.grpc.cpuRatio],
        ["pairs/s (median)", r.grpc.manyOpsPerSec, r.grpc.oneOpsPerSec, `errors: ${JSON.stringify(r.grpc.errors)}`],
      ],
    },
  ];
}
