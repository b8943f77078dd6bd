import { runChild } from "./child.js";
import type { BenchPlan, GoalRow } from "./plan.js";
import { verdict } from "./plan.js";

/** Section 2's result: measured bytes per key, and where the layout says they go. */
export interface MemoryResult {
  readonly method: string;
  readonly keys: number;
  readonly emptyPoolBytes: number;
  readonly allFree: Record<string, number>;
  readonly allBlocked: Record<string, number>;
  /** Expected bytes per key of each part of the layout (x64, no pointer compression). */
  readonly layout: { readonly part: string; readonly bytesPerKey: number; readonly where: string }[];
}

/** V8 on x64 without pointer compression (Node's default build): 8-byte pointers and alignment. */
const POINTER = 8;
const STRING_HEADER = 16;
const align = (n: number): number => Math.ceil(n / POINTER) * POINTER;

/** The bytes per key the pool's layout predicts for `keys` keys with capacity `keys`. */
export function predictedLayout(keys: number): MemoryResult["layout"] {
  const page = 16_384;
  const pageFactor = (Math.ceil(keys / page) * page) / keys;
  let table = 1024;
  while (table < keys * 2) table *= 2;
  return [
    { part: "key string (27 one-byte chars)", bytesPerKey: align(STRING_HEADER + 27), where: "V8 heap" },
    { part: "1 reference column (keys)", bytesPerKey: POINTER * pageFactor, where: "V8 heap (paged arrays)" },
    {
      part: "5 Float64 columns (created, expires, blocked until, fencing, acquired at | cooldown until)",
      bytesPerKey: 40 * pageFactor, where: "ArrayBuffers (external)",
    },
    {
      part: "6 Int32 columns (free set + position | heap position, 2 deadline lists x prev/next)",
      bytesPerKey: 24 * pageFactor, where: "ArrayBuffers (external)",
    },
    { part: "lease id bytes (18 per slot)", bytesPerKey: 18 * pageFactor, where: "ArrayBuffers (external)" },
    { part: "KeyIndex table (Int32, 2x capacity rounded to 2^k)", bytesPerKey: (table * 4) / keys, where: "ArrayBuffer (external)" },
  ].map((p) => ({ ...p, bytesPerKey: Math.round(p.bytesPerKey * 10) / 10 }));
}

/** Section 2: heap + external bytes per key of a pool of `plan.memoryKeys` keys, after GC. */
export async function memorySection(plan: BenchPlan): Promise<MemoryResult> {
  const r = await runChild("memory-probe.ts", ["--size", String(plan.memoryKeys)], ["--expose-gc"], 600_000);
  return {
    method:
      "node --expose-gc: 4 x gc(), then v8.getHeapStatistics().used_heap_size + process.memoryUsage().external " +
      "(typed-array backing stores), before and after filling a KeyPool (capacity = keys) with keys, then after " +
      "acquiring every key; difference / keys",
    keys: plan.memoryKeys,
    emptyPoolBytes: r.emptyPoolBytes as number,
    allFree: r.allFree as Record<string, number>,
    allBlocked: r.allBlocked as Record<string, number>,
    layout: predictedLayout(plan.memoryKeys),
  };
}

/** The goals section 2 checks: the pool as generated (all free) and its worst case (all blocked). */
export function memoryGoals(r: MemoryResult): GoalRow[] {
  const free = r.allFree.totalBytesPerKey!;
  const blocked = r.allBlocked.totalBytesPerKey!;
  return [
    {
      section: "2 memory",
      what: `bytes/key at ${r.keys.toLocaleString("en-US")} keys, all free`,
      goal: "<= 150 B",
      measured: `${free} B (heap ${r.allFree.heapBytesPerKey} + external ${r.allFree.externalBytesPerKey})`,
      status: verdict(free <= 150),
    },
    {
      section: "2 memory",
      what: `bytes/key at ${r.keys.toLocaleString("en-US")} keys, all blocked (each holds a lease id)`,
      goal: "<= 150 B",
      measured: `${blocked} B (heap ${r.allBlocked.heapBytesPerKey} + external ${r.allBlocked.externalBytesPerKey})`,
      status: verdict(blocked <= 150),
    },
  ];
}
