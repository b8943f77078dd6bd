/** How hard each section works: `--quick` (under a minute) or full (a few minutes). */
export interface BenchPlan {
  readonly mode: "quick" | "full";
  readonly poolSizes: readonly number[];
  /** Operations per timed run of each pool op, and runs per op (the median is reported). */
  readonly poolOps: number;
  readonly poolRuns: number;
  readonly memoryKeys: number;
  readonly stormKeys: number;
  readonly stormModes: readonly ("blocks" | "lives")[];
  readonly grpcClients: number;
  readonly grpcWarmupMs: number;
  readonly grpcDurationMs: number;
  readonly grpcRounds: number;
  /** Rounds per workload in the store and peer comparisons. */
  readonly storeRounds: number;
  /** Keys preloaded into the server for the gRPC workloads. */
  readonly grpcPoolKeys: number;
  /** Before each measurement, wait up to this long for the shared machine to be quiet. */
  readonly quietWaitMs: number;
  /** Sections run in this mode. */
  readonly stores: boolean;
  readonly peer: boolean;
  /** Section 7: Redis Cluster of 1, 2, 3 masters and --redis-wait-replicas (about 2 minutes). */
  readonly cluster: boolean;
  /** Section 8: this many pools of `keysPerPool` keys against one pool of all of them. */
  readonly poolsCount: number;
  readonly keysPerPool: number;
}

/** The full run: every section, every size, medians of several runs. */
export const FULL: BenchPlan = {
  mode: "full",
  poolSizes: [1_000, 10_000, 100_000, 1_000_000],
  poolOps: 100_000,
  poolRuns: 7,
  memoryKeys: 1_000_000,
  stormKeys: 1_000_000,
  stormModes: ["blocks", "lives"],
  grpcClients: 3,
  grpcWarmupMs: 1_000,
  grpcDurationMs: 4_000,
  grpcRounds: 3,
  storeRounds: 2,
  grpcPoolKeys: 100_000,
  quietWaitMs: 2_000,
  stores: true,
  peer: true,
  cluster: true,
  poolsCount: 1_000,
  keysPerPool: 1_000,
};

/** The quick run: every size but fewer, shorter runs; one storm; no store or peer comparison. */
export const QUICK: BenchPlan = {
  mode: "quick",
  poolSizes: [1_000, 10_000, 100_000, 1_000_000],
  poolOps: 10_000,
  poolRuns: 3,
  memoryKeys: 1_000_000,
  stormKeys: 100_000,
  stormModes: ["blocks"],
  grpcClients: 3,
  grpcWarmupMs: 500,
  grpcDurationMs: 1_000,
  grpcRounds: 1,
  storeRounds: 1,
  grpcPoolKeys: 10_000,
  quietWaitMs: 0,
  stores: false,
  peer: false,
  cluster: false,
  poolsCount: 100,
  keysPerPool: 1_000,
};

/** PASS or MISS against a goal; INFO for a figure without a goal; NOT MEASURED with the reason. */
export type Status = "PASS" | "MISS" | "INFO" | "NOT MEASURED";

/** One goal of the issue, with what this run measured. */
export interface GoalRow {
  readonly section: string;
  readonly what: string;
  readonly goal: string;
  readonly measured: string;
  readonly status: Status;
  readonly note?: string | undefined;
}

/** PASS when `ok`, else MISS. */
export function verdict(ok: boolean): Status {
  return ok ? "PASS" : "MISS";
}
