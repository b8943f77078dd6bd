/**
 * An example keypool worker: for each job it leases a key (waiting for one when none is free),
 * keeps the key alive while it works, and gives it back under its lease. Run it against a server:
 *
 *   KEYPOOL_ADDR=localhost:50051 KEYPOOL_POOL=openai JOBS=3 npx tsx examples/worker.ts
 *
 * An application that installed the package imports from "keypool" instead of "../src/index.js".
 */
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { createKeyPoolClient, KeyPoolClientError, redactKey } from "../src/index.js";
import type { KeyPoolClientOptions } from "../src/index.js";

/** What the worker does and where. */
export interface WorkerOptions {
  readonly address: string;
  /** The pool to lease from; default the server's default pool. */
  readonly pool?: string;
  readonly jobs: number;
  /** How long to wait for a free key per job; default 10 s. */
  readonly waitMs?: number;
  readonly client?: KeyPoolClientOptions;
  /** One job's work with its key; it should stop when `signal` aborts (the key was lost). */
  readonly work: (key: string, signal: AbortSignal) => Promise<void>;
  /** Progress lines; keys only ever shortened. Default: stderr. */
  readonly log?: (line: string) => void;
}

/** Runs `jobs` jobs, one leased key each; resolves with how many finished while holding their key. */
export async function runWorker(options: WorkerOptions): Promise<number> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const client = createKeyPoolClient(options.address, options.client);
  let finished = 0;
  try {
    for (let job = 1; job <= options.jobs; job++) {
      const leased = await client.acquireKey({ pool: options.pool, waitMs: options.waitMs ?? 10_000 });
      // Keeps the key alive; release() gives it back under its lease, in the key's own pool.
      const hold = client.hold(leased);
      hold.on("lost", (reason) => log(`job ${job}: lost ${redactKey(leased.key)} (${reason}), abandoning the job`));
      try {
        await options.work(leased.key, hold.signal);
        finished++;
        log(`job ${job}: done with ${redactKey(leased.key)}`);
      } catch (err) {
        if (!hold.signal.aborted) throw err; // a real failure; a lost key was already reported
      } finally {
        await hold.release().catch((err: unknown) => log(`job ${job}: ${KeyPoolClientError.from(err, "ReleaseKey").message}`));
      }
    }
  } finally {
    client.close();
  }
  return finished;
}

// Run directly: JOBS jobs (default 3) of WORK_MS milliseconds each (default 1000).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const token = process.env.KEYPOOL_TOKEN;
  const workMs = Number(process.env.WORK_MS ?? 1_000);
  runWorker({
    address: process.env.KEYPOOL_ADDR ?? "localhost:50051",
    pool: process.env.KEYPOOL_POOL,
    jobs: Number(process.env.JOBS ?? 3),
    client: token ? { token } : {},
    work: (_key, signal) => sleep(workMs, undefined, { signal }),
  }).then(
    (finished) => console.log(`${finished} jobs done`),
    (err: unknown) => {
      console.error(`worker: ${(err as Error).message}`);
      process.exitCode = 1;
    },
  );
}
