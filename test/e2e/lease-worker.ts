/**
 * One process of the end-to-end lease test: `holders` workers that each hold a lease through
 * `hold()` for `holdMs`, or `acquirers` that call AcquireKey as fast as they can and release at
 * once, until `runMs`. Every interval a worker saw itself holding a key is printed as a JSON line
 * {key, holder, start, end} (Date.now(), one machine): start when AcquireKey answered, end at the
 * last moment the worker checked that it still held the key (for a hold: `hold.active`) before it
 * let go. The process first warms its connection (one GetPoolStats) and prints {event: "ready"},
 * then starts its clock at the line "go" on stdin, so that a busy machine's process start-up is
 * not counted against a 1 s lease. Usage: lease-worker.ts ADDR ROLE COUNT MS NAME
 */
import { createKeyPoolClient } from "../../src/index.js";

const [addr, role, count, ms, name] = process.argv.slice(2) as [string, "hold" | "acquire", string, string, string];
const client = createKeyPoolClient(addr);
const print = (line: Record<string, unknown>): boolean => process.stdout.write(`${JSON.stringify(line)}\n`);
await client.getPoolStats();
print({ event: "ready" });
await new Promise<void>((resolve) => process.stdin.on("data", (d: Buffer) => d.toString().includes("go") && resolve()));
process.stdin.destroy();
const until = Date.now() + Number(ms);
const pause = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

async function holder(id: string): Promise<void> {
  const key = await client.acquireKey({ waitMs: 5_000 });
  const start = Date.now();
  const hold = client.hold(key);
  print({ event: "holding", key: key.key, holder: id });
  let end = start;
  while (Date.now() < until && hold.active) {
    end = Date.now(); // "using" the key: it was ours at this instant
    await pause(20);
  }
  print({ key: key.key, holder: id, start, end, lost: hold.lostReason ?? null });
  await hold.release();
}

async function acquirer(id: string): Promise<void> {
  while (Date.now() < until) {
    const key = await client.acquireKey().catch(() => undefined);
    if (!key) continue;
    const start = Date.now();
    const end = Date.now();
    print({ key: key.key, holder: id, start, end, lost: null });
    await client.releaseKey(key.key, key.leaseId).catch(() => undefined);
  }
}

const work = Array.from({ length: Number(count) }, (_, i) => (role === "hold" ? holder : acquirer)(`${name}-${i}`));
await Promise.allSettled(work);
client.close();
