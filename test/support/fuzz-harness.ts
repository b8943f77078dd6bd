import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { ManualClock } from "../../src/clock.js";
import { seededRandom } from "../../src/random.js";
import { ManualScheduler } from "../../src/scheduler.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import { TEST_TTLS, startTestServer } from "./test-server.js";
import type { TestServer } from "./test-server.js";

/** The seed of every fuzz run: the same inputs on every machine, every time. */
export const FUZZ_SEED = 0x6b70;

/** A test server for fuzzing: its memory store in reach, and a raw client that sends bytes. */
export interface FuzzServer extends TestServer {
  readonly memory: EmbeddedStore;
  /** A grpc-js client with no serializers of its own, for garbage bytes. */
  readonly raw: grpc.Client;
  /** Runs the background reclaimer to completion, so counts are exact after a clock jump. */
  settle(): void;
  /** `close` of the test server, and the raw client's channel with it. */
  close(): Promise<void>;
}

/** Starts a fuzz server on 127.0.0.1:0 (production TTLs, a manual clock, `maxKeys` capacity). */
export async function startFuzzServer(maxKeys = 100_000): Promise<FuzzServer> {
  const clock = new ManualClock();
  const scheduler = new ManualScheduler(clock);
  const memory = EmbeddedStore.memory({ ...TEST_TTLS, maxKeys, scheduler, random: seededRandom(FUZZ_SEED) });
  // The rounds cancel thousands of calls from one address on purpose; the reset budget that
  // would cut such a peer off has its own test (connection-limits.test.ts).
  const t = await startTestServer({ store: memory, scheduler, server: { limits: { maxResets: 1_000_000 } } });
  const raw = new grpc.Client(t.address, grpc.credentials.createInsecure());
  return {
    ...t,
    memory,
    raw,
    settle: () => {
      while (memory.sweeper.runSlice() > 0);
    },
    close: async () => {
      raw.close();
      await t.close();
    },
  };
}

let gc: (() => void) | undefined;

/** Heap in use after a full garbage collection (enabled at run time: vitest owns the flags). */
export async function heapAfterGc(): Promise<number> {
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  // Let timers and sockets of finished calls run their close handlers first.
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 20));
    gc();
  }
  return process.memoryUsage().heapUsed;
}


/**
 * Runs `body` on `numRuns` seeded inputs of `arb`, in order, stopping at the first failure
 * without shrinking (the server's state has moved on, so a shrunk replay would mean nothing).
 * Rethrows the failure itself, so its message names the call; adds the seed and run to it.
 */
export async function runFuzz<T>(
  arb: fc.Arbitrary<T>, numRuns: number, body: (input: T, run: number) => Promise<void>, seed = FUZZ_SEED,
): Promise<void> {
  let run = 0;
  const details = await fc.check(fc.asyncProperty(arb, (input) => body(input, run++)), { seed, numRuns, endOnFailure: true });
  if (!details.failed) return;
  const err = details.errorInstance instanceof Error ? details.errorInstance : new Error(String(details.errorInstance));
  err.message += ` (fast-check seed ${seed}, run ${run - 1} of ${numRuns})`;
  throw err;
}
