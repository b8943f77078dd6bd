/**
 * Child process of the memory benchmark (needs --expose-gc): heap and external bytes per key
 * of a `KeyPool` of `--size` keys after full GCs, once with every key free and once with every
 * key blocked (each blocked key also holds a lease id). Run by bench/memory.ts.
 */
import { parseArgs } from "node:util";
import v8 from "node:v8";
import { KeyPool } from "../src/pool/index.js";
import { systemRandom } from "../src/random.js";
import { reply } from "./child.js";
import { delta, footprint } from "./footprint.js";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { size: { type: "string" } } });
  const size = Number(values.size);
  const before = footprint();
  const pool = new KeyPool({ blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: size }, systemRandom);
  const empty = footprint();
  for (let left = size; left > 0; left -= 1000) pool.generate(Math.min(1000, left), 1);
  const free = footprint();
  for (let i = 0; i < size; i++) pool.acquire(2);
  const blocked = footprint();
  reply({
    type: "result",
    size,
    emptyPoolBytes: empty.total - before.total,
    allFree: delta(free, before, size),
    allBlocked: delta(blocked, before, size),
    heapSpaces: v8.getHeapSpaceStatistics().map((s) => ({ space: s.space_name, used: s.space_used_size })),
    poolSize: pool.size,
  });
}

void main().catch((err: unknown) => {
  reply({ type: "error", message: String((err as Error)?.stack ?? err) });
  process.exitCode = 1;
});
