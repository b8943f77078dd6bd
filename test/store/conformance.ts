import { afterEach, describe } from "vitest";
import { acquireTests } from "./conformance/acquire.js";
import { makeContext } from "./conformance/context.js";
import { deadlineTests } from "./conformance/deadlines.js";
import { deleteTests } from "./conformance/delete.js";
import { generateTests } from "./conformance/generate.js";
import { keepAliveTests } from "./conformance/keepalive.js";
import { modelBasedTests } from "./conformance/model-based.js";
import { releaseTests } from "./conformance/release.js";
import { renewTests } from "./conformance/renew.js";
import { statsTests } from "./conformance/stats.js";
import { uniformityTests } from "./conformance/uniformity.js";
import { counterTests } from "./conformance/counters.js";
import { cooldownTests } from "./conformance/cooldown.js";
import { importTests } from "./conformance/import.js";
import { listingTests } from "./conformance/listing.js";
import { faultTests } from "./conformance/faults.js";
import { poolTests } from "./conformance/pools.js";
import type { StoreCapabilities, StoreFactory } from "./harness.js";

/** What a store's test file may tune; the rules checked never change. */
export interface ConformanceOptions {
  /** Random programs in the model-based test (default 100, about 3,000 operations). */
  readonly modelRuns?: number;
  /** What the store can do beyond the contract; the matching groups run only where given. */
  readonly capabilities?: StoreCapabilities;
}

/**
 * The KeyService contract, proved through the KeyStore interface: every store runs this one
 * suite in three lines (`describeStoreConformance("memory", factory)`). Every test opens fresh
 * stores from `factory` with a ManualClock and a seeded Random and moves time by hand; nothing
 * sleeps. Stores opened by a test are cleaned up after it.
 */
export function describeStoreConformance(name: string, factory: StoreFactory, options: ConformanceOptions = {}): void {
  describe(`KeyStore conformance: ${name}`, () => {
    const ctx = makeContext(factory, options.capabilities);
    afterEach(() => ctx.cleanupAll());
    generateTests(ctx);
    acquireTests(ctx);
    releaseTests(ctx);
    deleteTests(ctx);
    keepAliveTests(ctx);
    renewTests(ctx);
    deadlineTests(ctx);
    statsTests(ctx);
    counterTests(ctx);
    faultTests(ctx);
    importTests(ctx);
    cooldownTests(ctx);
    listingTests(ctx);
    uniformityTests(ctx);
    poolTests(ctx);
    modelBasedTests(ctx, options.modelRuns ?? 100);
  });
}
