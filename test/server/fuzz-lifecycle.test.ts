import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Tally } from "../support/fuzz-calls.js";
import { checkAfterFuzz } from "../support/fuzz-checks.js";
import { heapAfterGc, runFuzz, startFuzzServer } from "../support/fuzz-harness.js";
import type { FuzzServer } from "../support/fuzz-harness.js";
import { FuzzModel } from "../support/fuzz-model.js";
import { acquireStep, generateStep, keyOpsStep, round, statsStep } from "../support/fuzz-rounds.js";
import { TEST_TTLS } from "../support/test-server.js";

/**
 * 70 rounds of valid operations against a small pool (capacity 3,000) while the clock jumps
 * across block and life deadlines: every answer is checked against the reference model.
 */
const RUNS = 70;
const MAX_KEYS = 3_000;

let t: FuzzServer;
let fm: FuzzModel;
let heapBefore: number;
const tally = new Tally();
/** Every lease ever issued per key, for releases under stale leases. */
const leases = new Map<string, string[]>();

beforeAll(async () => {
  t = await startFuzzServer(MAX_KEYS);
  fm = new FuzzModel({ ...TEST_TTLS, maxKeys: MAX_KEYS });
  fm.generated((await t.client.generateKeys({ count: 500 })).keys, t.clock.now());
  heapBefore = await heapAfterGc();
});
afterAll(() => t?.close());

describe("fuzz: valid operations across deadlines", () => {
  it("generates, acquires, releases, deletes, keeps alive and counts exactly as the model says", { timeout: 180_000 }, async () => {
    await runFuzz(round, RUNS, async (r) => {
      t.clock.advance(r.advance);
      t.settle();
      await generateStep(t, fm, r.counts, tally);
      await acquireStep(t, fm, r.waits, leases, tally);
      await keyOpsStep(t, fm, r.ops, leases, tally);
      await statsStep(t, fm, r.stats, tally);
    });
    expect(tally.counts.get("GenerateKeys")).toBeGreaterThan(1_000);
    expect(tally.counts.get("AcquireKey")).toBeGreaterThan(1_500);
    expect(tally.counts.get("GetPoolStats")).toBeGreaterThan(1_500);
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
    console.log(`${made} keys made; ${tally.summary("fuzz-lifecycle")}; ${heap}`);
  });
});
