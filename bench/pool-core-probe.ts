/**
 * Child process of the pool-core benchmark: builds one `KeyPool` of `--size` keys and measures
 * ns/op of every operation at that steady size. Run by bench/pool-core.ts, one process per size,
 * so no size inherits another's heap or JIT state.
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { KeyPool } from "../src/pool/index.js";
import type { KeyInfo } from "../src/pool/index.js";
import { systemRandom } from "../src/random.js";
import { reply } from "./child.js";
import { median } from "./stats.js";

/** Operations measured, in the order of the table. */
export const POOL_OPS = ["generate", "acquire", "release", "keepalive", "delete", "acquire+release"] as const;
/** One of POOL_OPS. */
export type PoolOp = (typeof POOL_OPS)[number];

/** Ops per timed block: small against the smallest pool, so acquire never runs out of free keys. */
const BLOCK = 100;
/** One capacity for every size, as a server with the default --max-keys (1e6) plus headroom. */
const MAX_KEYS = 1 << 20;
const T0 = 1_700_000_000_000;

/** A pool of `size` keys plus a shuffled list of its keys (the workload's key order). */
class Bench {
  now = T0;
  readonly keys: string[] = [];
  private cursor = 0;
  private readonly held: KeyInfo[] = new Array(BLOCK);

  constructor(readonly pool: KeyPool, size: number) {
    for (let left = size; left > 0; left -= 1000) {
      for (const info of pool.generate(Math.min(1000, left), this.now)) this.keys.push(info.key);
    }
    for (let i = this.keys.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
    }
  }

  /** Runs `ops` operations of `op` in blocks; returns timed ns/op (restoring work is untimed). */
  measure(op: PoolOp, ops: number): number {
    let timed = 0;
    for (let done = 0; done < ops; done += BLOCK) {
      this.now += 1; // time moves on, far from any deadline: no expiry work is measured
      timed += this.block(op);
    }
    return (timed * 1e6) / ops;
  }

  private nextKeyIndex(): number {
    const i = this.cursor;
    this.cursor = (i + 1) % this.keys.length;
    return i;
  }

  /** One block of BLOCK ops; returns the timed milliseconds. */
  private block(op: PoolOp): number {
    const { pool, held, now } = this;
    let t: number;
    switch (op) {
      case "generate":
        t = performance.now();
        for (let i = 0; i < BLOCK; i++) held[i] = pool.generate(1, now)[0]!;
        t = performance.now() - t;
        for (let i = 0; i < BLOCK; i++) pool.delete(held[i]!.key, now);
        return t;
      case "acquire":
        t = performance.now();
        for (let i = 0; i < BLOCK; i++) held[i] = pool.acquire(now);
        t = performance.now() - t;
        for (let i = 0; i < BLOCK; i++) pool.release(held[i]!.key, held[i]!.leaseId, now);
        return t;
      case "release":
        for (let i = 0; i < BLOCK; i++) held[i] = pool.acquire(now);
        t = performance.now();
        for (let i = 0; i < BLOCK; i++) pool.release(held[i]!.key, held[i]!.leaseId, now);
        return performance.now() - t;
      case "keepalive":
        t = performance.now();
        for (let i = 0; i < BLOCK; i++) pool.keepAlive(this.keys[this.nextKeyIndex()]!, now);
        return performance.now() - t;
      case "delete":
        return this.deleteBlock();
      case "acquire+release":
        t = performance.now();
        for (let i = 0; i < BLOCK; i++) {
          const info = pool.acquire(now);
          pool.release(info.key, info.leaseId, now);
        }
        return performance.now() - t;
    }
  }

  /** Deletes BLOCK keys (timed), then generates as many back in their places (untimed). */
  private deleteBlock(): number {
    const { pool, now, keys } = this;
    const at = this.cursor;
    const t = performance.now();
    for (let i = 0; i < BLOCK; i++) pool.delete(keys[(at + i) % keys.length]!, now);
    const elapsed = performance.now() - t;
    const fresh = pool.generate(BLOCK, now);
    for (let i = 0; i < BLOCK; i++) keys[(at + i) % keys.length] = fresh[i]!.key;
    this.cursor = (at + BLOCK) % keys.length;
    return elapsed;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { size: { type: "string" }, ops: { type: "string" }, runs: { type: "string" } },
  });
  const size = Number(values.size);
  const ops = Math.ceil(Number(values.ops) / BLOCK) * BLOCK;
  const runs = Number(values.runs);
  const bench = new Bench(new KeyPool({ blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: MAX_KEYS }, systemRandom), size);
  // Warm-up: every op, long enough for the optimizing compiler to settle.
  for (let w = 0; w < 2; w++) for (const op of POOL_OPS) bench.measure(op, ops);
  const samples: Record<string, number[]> = Object.fromEntries(POOL_OPS.map((op) => [op, []]));
  for (let r = 0; r < runs; r++) for (const op of POOL_OPS) samples[op]!.push(bench.measure(op, ops));
  const nsPerOp = Object.fromEntries(POOL_OPS.map((op) => [op, median(samples[op]!)]));
  reply({ type: "result", size, opsPerRun: ops, runs, nsPerOp, samples, poolSize: bench.pool.size });
}

void main().catch((err: unknown) => {
  reply({ type: "error", message: String((err as Error)?.stack ?? err) });
  process.exitCode = 1;
});
