/**
 * Child process of the pools benchmark: AcquireKey + its release through the embedded PoolSet
 * (what the server calls per RPC), for the same total of keys in two shapes held side by side in
 * this one process: `--pools` pools of `--keys-per-pool` keys, and one pool of all of them.
 * Rounds alternate between the shapes, so both see the same machine, heap and JIT; each op picks
 * a pool uniformly at random by name (the single pool's name for the single pool), so the code
 * path is the same and only the shape differs. A control runs the many-pool shape with each
 * block of BLOCK ops in ONE pool drawn at random (same pools, same calls, same name lookups and
 * sweeper reports): what remains of the gap there is per-op code, what goes is the cost of
 * touching a different pool's (cold) structures on every op. Run by bench/pools/pools-section.ts.
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { ManualClock } from "../../src/clock.js";
import { systemRandom } from "../../src/random.js";
import { ManualScheduler } from "../../src/scheduler.js";
import { EmbeddedPools } from "../../src/store/embedded-pools.js";
import type { PoolSet } from "../../src/store/pool-set.js";
import { MAX_GENERATE } from "../../src/pool/rules.js";
import { reply } from "../child.js";
import { median } from "../stats.js";

/** Ops per timed block: the clock moves on between blocks, far from any deadline. */
const BLOCK = 100;

/** One shape: its pools and their names. */
interface Shape {
  readonly pools: PoolSet;
  readonly names: readonly string[];
  readonly keysPerPool: number;
}

/** A memory PoolSet of `count` pools of `keysPerPool` generated keys each, on a manual clock. */
async function shape(count: number, keysPerPool: number, clock: ManualClock): Promise<Shape> {
  const pools = await EmbeddedPools.open({
    blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: keysPerPool, maxPools: count + 1, // the default pool counts too, and stays empty
    scheduler: new ManualScheduler(clock), random: systemRandom,
  });
  const names = Array.from({ length: count }, (_, i) => `pool-${i}`);
  for (const name of names) {
    const store = pools.pool(name, true);
    for (let left = keysPerPool; left > 0; left -= MAX_GENERATE) await store.generate(Math.min(MAX_GENERATE, left));
  }
  return { pools, names, keysPerPool };
}

/** A new string equal to `name` (not the same object, its hash not yet computed). */
function fresh(name: string): string {
  return Buffer.from(name, "latin1").toString("latin1");
}

/**
 * Timed ns per acquire+release over `ops` ops, in blocks of BLOCK (the pool picked outside the
 * timing); `local`: every op of a block in the same pool.
 */
async function measure(s: Shape, ops: number, clock: ManualClock, local = false): Promise<number> {
  const picks = new Array<string>(BLOCK);
  let timed = 0;
  for (let done = 0; done < ops; done += BLOCK) {
    clock.advance(1);
    const block = s.names[systemRandom.int(s.names.length)]!;
    // Each op gets its own copy of the name, as a server gets a fresh string from each request's
    // decoder: the shared name strings would be cold (and their hashes cached) in one shape and
    // hot in the other, a difference a server never sees.
    for (let i = 0; i < BLOCK; i++) picks[i] = fresh(local ? block : s.names[systemRandom.int(s.names.length)]!);
    const t = performance.now();
    for (let i = 0; i < BLOCK; i++) {
      const store = s.pools.pool(picks[i]!, false);
      const key = await store.acquire();
      await store.release(key.key, key.leaseId);
    }
    timed += performance.now() - t;
  }
  return (timed * 1e6) / ops;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { pools: { type: "string" }, "keys-per-pool": { type: "string" }, ops: { type: "string" }, rounds: { type: "string" } } });
  const count = Number(values.pools);
  const keysPerPool = Number(values["keys-per-pool"]);
  const ops = Math.ceil(Number(values.ops) / BLOCK) * BLOCK;
  const rounds = Number(values.rounds);
  const clock = new ManualClock();
  const many = await shape(count, keysPerPool, clock);
  const one = await shape(1, count * keysPerPool, clock);
  for (let w = 0; w < 2; w++) for (const s of [many, one]) await measure(s, ops, clock);
  const manyNs: number[] = [];
  const oneNs: number[] = [];
  const localNs: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    localNs.push(await measure(many, ops, clock, true));
    // Alternate which shape goes first, so neither always runs on a freshly collected heap.
    const first = r % 2 === 0 ? many : one;
    const a = await measure(first, ops, clock);
    const b = await measure(first === many ? one : many, ops, clock);
    const [m, o] = first === many ? [a, b] : [b, a];
    manyNs.push(m);
    oneNs.push(o);
    ratios.push(m / o);
  }
  const row = (s: Shape, ns: number[]) => ({ pools: s.names.length, keysPerPool: s.keysPerPool, nsPerAcquire: median(ns), rounds: ns });
  reply({ type: "result", many: row(many, manyNs), one: row(one, oneNs), manyLocal: row(many, localNs), ratio: median(ratios) });
  await Promise.all([many.pools.close(), one.pools.close()]);
}

void main().catch((err: unknown) => {
  reply({ type: "error", message: String((err as Error)?.stack ?? err) });
  process.exitCode = 1;
});
