import { runChild } from "./child.js";
import { waitForQuiet } from "./machine-load.js";
import type { BenchPlan, GoalRow } from "./plan.js";
import { verdict } from "./plan.js";
import { POOL_OPS } from "./pool-core-probe.js";
import { round } from "./stats.js";

/** ns/op of every pool operation at one pool size. */
export interface PoolCoreRow {
  readonly size: number;
  readonly nsPerOp: Record<string, number>;
}

/** Section 1's result. */
export interface PoolCoreResult {
  readonly method: string;
  readonly rows: PoolCoreRow[];
  /** ns/op at the largest size / ns/op at the smallest, per op. */
  readonly flatness: Record<string, number>;
}

/**
 * Section 1: the pool core in process. One child process per pool size (a fresh heap and JIT
 * each), each warming up, then timing every op in blocks of 100 at a steady pool size.
 */
export async function poolCoreSection(plan: BenchPlan, nodeFlags: readonly string[] = []): Promise<PoolCoreResult> {
  const rows: PoolCoreRow[] = [];
  for (const size of plan.poolSizes) {
    if (plan.quietWaitMs) await waitForQuiet(plan.quietWaitMs);
    const args = ["--size", String(size), "--ops", String(plan.poolOps), "--runs", String(plan.poolRuns)];
    const r = await runChild("pool-core-probe.ts", args, nodeFlags, 600_000);
    const nsPerOp = Object.fromEntries(Object.entries(r.nsPerOp as Record<string, number>).map(([op, ns]) => [op, round(ns, 0)]));
    rows.push({ size, nsPerOp });
  }
  const first = rows[0]!;
  const last = rows[rows.length - 1]!;
  const flatness = Object.fromEntries(POOL_OPS.map((op) => [op, round(last.nsPerOp[op]! / first.nsPerOp[op]!, 2)]));
  return {
    method:
      `KeyPool with systemRandom, maxKeys 2^20 at every size, manual clock; per size a fresh process ` +
      `(node --import tsx bench/pool-core-probe.ts), 2 warm-up passes, then ${plan.poolRuns} runs of ` +
      `${plan.poolOps} ops per op in timed blocks of 100 (restoring work untimed, pool size steady); median of runs`,
    rows,
    flatness,
  };
}

/** The goals section 1 checks. */
export function poolCoreGoals(r: PoolCoreResult): GoalRow[] {
  const first = r.rows[0]!;
  const last = r.rows[r.rows.length - 1]!;
  const rows: GoalRow[] = POOL_OPS.map((op) => ({
    section: "1 pool core",
    what: `flatness ${op} (${last.size.toExponential(0)}/${first.size.toExponential(0)})`,
    goal: "<= 1.3",
    measured: `${r.flatness[op]} (${first.nsPerOp[op]} -> ${last.nsPerOp[op]} ns)`,
    status: verdict(r.flatness[op]! <= 1.3),
  }));
  const pair = last.nsPerOp["acquire+release"]!;
  rows.push({
    section: "1 pool core",
    what: `acquire+release pair at ${last.size.toLocaleString("en-US")} keys`,
    goal: "< 1000 ns",
    measured: `${pair} ns`,
    status: verdict(pair < 1000),
  });
  return rows;
}
