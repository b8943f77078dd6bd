import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Tally } from "../support/fuzz-calls.js";
import { checkAfterFuzz } from "../support/fuzz-checks.js";
import { heapAfterGc, runFuzz, startFuzzServer } from "../support/fuzz-harness.js";
import type { FuzzServer } from "../support/fuzz-harness.js";
import { FuzzModel } from "../support/fuzz-model.js";
import { importStep, listStep } from "../support/fuzz-pool-steps.js";
import { acquireStep, generateStep, keyOpsStep, round, statsStep } from "../support/fuzz-rounds.js";
import { TEST_TTLS } from "../support/test-server.js";

/**
 * 70 rounds of valid operations against a small pool (capacity 3,000) while the clock jumps
 * across block and life deadlines: every answer is checked against the reference model, and
 * about half the rounds end with a full listing that must hold exactly the model's keys.
 */
const RUNS = 70;
const MAX_KEYS = 3_000;

let t: FuzzServer;
let fm: FuzzModel;
let heapBefore: number;
const tally = new Tally();
/** Every lease ever issued per key, for releases under stale leases. */
const leases = new Map<string, string[]>();
/** How many ImportKeys calls ended with each status. */
const imports = new Map<grpc.status, number>();

beforeAll(async () => {
  t = await startFuzzServer(MAX_KEYS);
  fm = new FuzzModel({ ...TEST_TTLS, maxKeys: MAX_KEYS });
  fm.generated((await t.client.generateKeys({ count: 500 })).keys, t.clock.now());
  heapBefore = await heapAfterGc();
});
afterAll(() => t?.close());

describe("fuzz: valid operations across deadlines", () => {
  it("generates, acquires, releases, deletes, keeps alive and counts exactly as the model says", { timeout: 180_000 }, async () => {
    await runFuzz(round, RUNS, async (r, run) => {
      t.clock.advance(r.advance);
      t.settle();
      await generateStep(t, fm, r.counts, tally);
      await importStep(t, fm, r.imports, run, tally, imports);
      await acquireStep(t, fm, r.waits, leases, tally);
      await keyOpsStep(t, fm, r.ops, leases, tally);
      await statsStep(t, fm, r.stats, tally);
      await listStep(t, fm, r.listing, tally);
    });
    expect(tally.counts.get("GenerateKeys")).toBeGreaterThan(1_000);
    expect(tally.counts.get("AcquireKey")).toBeGreaterThan(1_500);
    expect(tally.counts.get("GetPoolStats")).toBeGreaterThan(1_500);
    expect(tally.counts.get("ListKeys")).toBeGreaterThan(100);
    // Imports that went in, and each way one is refused, every one of them often.
    for (const code of [grpc.status.OK, grpc.status.INVALID_ARGUMENT, grpc.status.ALREADY_EXISTS, grpc.status.RESOURCE_EXHAUSTED]) {
      expect(imports.get(code), `ImportKeys answered ${grpc.status[code]}`).toBeGreaterThan(15);
    }
  });

  it("leaves a server that serves, a consistent pool and the heap where it was", { timeout: 60_000 }, async () => {
    // Room for the round trip's one new key, then the checks.
    t.clock.advance(TEST_TTLS.keepaliveTtlMs);
    t.settle();
    fm.generated((await t.client.generateKeys({ count: 300 })).keys, t.clock.now());
    for (let i = 0; i < 100; i++) fm.acquired((await t.client.acquireKey({})).key, t.clock.now());
    const made = fm.known.length;
    const forget = (): void => {
      fm.clear();
      leases.clear();
    };
    const heap = await checkAfterFuzz(t, { known: () => fm.knownAt(t.clock.now()), forget }, heapBefore);
    console.log(`${made} keys made; ${tally.summary("fuzz-lifecycle")}; ImportKeys by status ${JSON.stringify(Object.fromEntries([...imports].map(([c, n]) => [grpc.status[c], n])))}; ${heap}`);
  });
});
