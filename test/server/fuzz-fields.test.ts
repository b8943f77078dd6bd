import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import type { TypedClient } from "../../src/grpc/typed-client.js";
import { DEFAULT_LIMITS } from "../../src/server/limits.js";
import { describeInput } from "../support/fuzz-arbitraries.js";
import { checkOutcome, inParallel, outcomeOf, Tally } from "../support/fuzz-calls.js";
import type { Outcome } from "../support/fuzz-calls.js";
import { checkAfterFuzz } from "../support/fuzz-checks.js";
import { heapAfterGc, runFuzz, startFuzzServer } from "../support/fuzz-harness.js";
import type { FuzzServer } from "../support/fuzz-harness.js";
import { checkInfo, keyFieldInput, requestBytes, resolveBatch } from "../support/fuzz-key-ops.js";
import type { KeyFieldCase } from "../support/fuzz-key-ops.js";
import { FuzzModel } from "../support/fuzz-model.js";
import { TEST_TTLS } from "../support/test-server.js";

/** 52 batches of 200 concurrent calls: 10,400 inputs, about 2,600 per method. */
const BATCH = 200;
const RUNS = 52;
const MAX_KEYS = 100_000;
const MAX_BYTES = DEFAULT_LIMITS.maxRequestBytes;

let t: FuzzServer;
let fm: FuzzModel;
let heapBefore: number;
const tally = new Tally();
type Client = TypedClient<typeof KeyService>;

/** Keeps enough free and blocked keys around for known-key picks to hit every state. */
async function replenish(): Promise<void> {
  const now = t.clock.now();
  const stats = fm.model.stats(now);
  if (stats.free < 400) fm.generated((await t.client.generateKeys({ count: 500 })).keys, now);
  if (stats.blocked < 150) {
    await inParallel(Array.from({ length: 150 }), 75, async () => fm.acquired((await t.client.acquireKey({})).key, now));
  }
  fm.checkStats(await t.client.getPoolStats({}), now);
  tally.add("GetPoolStats");
}

/** Makes one case's call on `client`. */
function send(client: Client, c: KeyFieldCase): Promise<Outcome<{ key?: Parameters<typeof checkInfo>[0] }>> {
  switch (c.method) {
    case "ReleaseKey": return outcomeOf(client.releaseKey({ key: c.key, leaseId: c.leaseId }));
    case "DeleteKey": return outcomeOf(client.deleteKey({ key: c.key }).then(() => ({})));
    case "KeepAliveKey": return outcomeOf(client.keepAliveKey({ key: c.key }));
    case "GetKey": return outcomeOf(client.getKey({ key: c.key }));
  }
}

/** Sends one case and checks its status, details and (when OK) the key it describes. */
async function check(c: KeyFieldCase, client: Client = t.client): Promise<void> {
  const what = `${c.method}{key: ${describeInput(c.key)}, lease_id: ${describeInput(c.leaseId)}}`;
  const outcome = await send(client, c);
  tally.add(c.method);
  checkOutcome(outcome, c.codes, what);
  if (outcome.code === grpc.status.OK && c.info) checkInfo(outcome.value?.key, c.info, what);
}

beforeAll(async () => {
  t = await startFuzzServer(MAX_KEYS);
  fm = new FuzzModel({ ...TEST_TTLS, maxKeys: MAX_KEYS });
  // Keys that die before the fuzz starts: known, well-formed, and NOT_FOUND from then on.
  fm.generated((await t.client.generateKeys({ count: 300 })).keys, t.clock.now());
  t.clock.advance(TEST_TTLS.keepaliveTtlMs);
  t.settle();
  await replenish();
  heapBefore = await heapAfterGc();
});
afterAll(() => t?.close());

describe("fuzz: key and lease id fields", () => {
  it("answers strings around the request size limit with INVALID_ARGUMENT or RESOURCE_EXHAUSTED", { timeout: 120_000 }, async () => {
    const cases: KeyFieldCase[] = [];
    for (const target of [MAX_BYTES - 1, MAX_BYTES, MAX_BYTES + 1, 2 * MAX_BYTES, 4 * MAX_BYTES]) {
      for (const fill of ["k", "é", "\u{1f511}"]) {
        // Grow a string until its request is `target` bytes (or just past it, for multi-byte fill).
        let s = fill.repeat(Math.floor((target - 8) / Buffer.byteLength(fill)));
        while (requestBytes(s, "") < target) s += fill;
        const codes = (size: number) => [size > MAX_BYTES ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.INVALID_ARGUMENT];
        for (const method of ["ReleaseKey", "DeleteKey", "KeepAliveKey", "GetKey"] as const) {
          cases.push({ method, key: s, leaseId: "", codes: codes(requestBytes(s, "")) });
        }
        const key = `kp_${"A".repeat(24)}`;
        cases.push({ method: "ReleaseKey", key, leaseId: s, codes: codes(requestBytes(key, s)) });
      }
    }
    // A connection of its own: a grpc-js client keeps the bytes of a request the server refused
    // as too large until its connection closes (client memory, not the server's).
    const client = createTypedClient(KeyService, t.address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
    try {
      await inParallel(cases, 4, (c) => check(c, client));
    } finally {
      client.close();
    }
    expect(cases.filter((c) => c.codes[0] === grpc.status.RESOURCE_EXHAUSTED).length).toBeGreaterThan(20);
  });

  it("answers malformed, unknown and known keys and lease ids with the precise status", { timeout: 300_000 }, async () => {
    await runFuzz(fc.array(keyFieldInput(), { minLength: BATCH, maxLength: BATCH }), RUNS, async (batch) => {
      await replenish();
      const cases = resolveBatch(batch, fm.model, fm.known, t.clock.now(), MAX_BYTES);
      await Promise.all(cases.map((c) => check(c)));
    });
    for (const method of ["ReleaseKey", "DeleteKey", "KeepAliveKey", "GetKey"] as const) {
      expect(tally.counts.get(method)).toBeGreaterThan(2_400);
    }
  });

  it("leaves a server that serves, a consistent pool and the heap where it was", { timeout: 120_000 }, async () => {
    const made = fm.known.length;
    const heap = await checkAfterFuzz(t, { known: () => fm.knownAt(t.clock.now()), forget: () => fm.clear() }, heapBefore);
    console.log(`${tally.summary("fuzz-fields")}; ${made} keys made; ${heap}`);
  });
});
