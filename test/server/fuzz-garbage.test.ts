import { fromBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AcquireKeyResponseSchema, GenerateKeysResponseSchema, GetPoolStatsResponseSchema, KeepAliveRequestSchema, KeepAliveResponseSchema,
} from "../../gen/keypool/v1/keypool_pb.js";
import { DEFAULT_LIMITS } from "../../src/server/limits.js";
import { checkOutcome, ContractViolation, inParallel, METHODS, rawKeepAlive, rawUnary, Tally } from "../support/fuzz-calls.js";
import type { MethodName } from "../support/fuzz-calls.js";
import { checkAfterFuzz } from "../support/fuzz-checks.js";
import { decodeRequest, expectForBytes, garbageFor, poolOf } from "../support/fuzz-garbage-bytes.js";
import { heapAfterGc, runFuzz, startFuzzServer } from "../support/fuzz-harness.js";
import type { FuzzServer } from "../support/fuzz-harness.js";
import { FuzzModel } from "../support/fuzz-model.js";
import { TEST_TTLS } from "../support/test-server.js";
import { cancelInput, playCancelled } from "../support/fuzz-cancel.js";

const UNARY = METHODS.filter((m) => m !== "KeepAlive");
/** Small, so garbage that parses as a GenerateKeys soon meets RESOURCE_EXHAUSTED. */
const MAX_KEYS = 1_500;
const MAX_BYTES = DEFAULT_LIMITS.maxRequestBytes;

let t: FuzzServer;
let fm: FuzzModel;
let heapBefore: number;
const tally = new Tally();
/** Keys a cancelled DeleteKey named: they may or may not be gone. */
const maybeDeleted = new Set<string>();

const hex = (bytes: Uint8Array): string =>
  `${Buffer.from(bytes.subarray(0, 24)).toString("hex")}${bytes.length > 24 ? `… (${bytes.length} bytes)` : ""}`;

/** Sends garbage to a unary method; checks the status and records what a success changed. */
async function sendGarbage(method: MethodName, bytes: Uint8Array): Promise<void> {
  const request = bytes.length <= MAX_BYTES ? decodeRequest(method, bytes) : undefined;
  const pool = request && poolOf(request);
  // An AcquireKey waiting in a pool garbage named would wait out its wait (up to 5 minutes): the
  // waiting rules have tests of their own, so such bytes are not sent.
  if (method === "AcquireKey" && pool !== undefined && pool !== "default" && request!.wait) return;
  const outcome = await rawUnary(t.raw, method, Buffer.from(bytes));
  tally.add(method);
  checkOutcome(outcome, expectForBytes(method, bytes, MAX_BYTES), `${method}(0x${hex(bytes)})`);
  // The model is the default pool's: what garbage did in another pool is not its business.
  if (outcome.code !== grpc.status.OK || pool !== "default") return;
  const now = t.clock.now();
  if (method === "GenerateKeys") fm.generated(fromBinary(GenerateKeysResponseSchema, outcome.value!).keys, now);
  if (method === "AcquireKey") fm.acquired(fromBinary(AcquireKeyResponseSchema, outcome.value!).key, now);
  if (method === "GetPoolStats") fm.checkStats(fromBinary(GetPoolStatsResponseSchema, outcome.value!), now);
}

/**
 * Releases blocked keys until 300 are free: garbage that parses as an AcquireKey with a wait must
 * find a key at once (a wait of minutes would stall the run).
 */
async function keepKeysFree(): Promise<void> {
  const now = t.clock.now();
  let short = 300 - fm.model.stats(now).free;
  for (const key of fm.liveKeys(now)) {
    if (short <= 0) return;
    const k = fm.model.get(key, now);
    if (!("ok" in k) || !k.ok.leaseId) continue;
    await t.client.releaseKey({ key, leaseId: k.ok.leaseId });
    fm.model.release(key, k.ok.leaseId, now);
    short--;
  }
}

/** Sends garbage frames on one KeepAlive stream; checks each answer and how the stream ends. */
async function streamGarbage(frames: readonly Uint8Array[]): Promise<void> {
  const s = rawKeepAlive(t.raw);
  let expected: grpc.status[] = [grpc.status.OK];
  const answerable: string[][] = [];
  for (const frame of frames) {
    s.call.write(Buffer.from(frame));
    tally.add("KeepAlive");
    expected = expectForBytes("KeepAlive", frame, MAX_BYTES);
    if (expected[0] !== grpc.status.OK) break;
    answerable.push(fromBinary(KeepAliveRequestSchema, frame).keys);
  }
  if (expected[0] === grpc.status.OK) s.call.end();
  const status = await s.status;
  const what = `KeepAlive(${frames.map(hex).join(", ")})`;
  checkOutcome(status, expected, what);
  if (s.responses.length !== answerable.length) {
    throw new ContractViolation(`${what}: ${s.responses.length} responses to ${answerable.length} requests`);
  }
  s.responses.forEach((bytes, i) => {
    const { results } = fromBinary(KeepAliveResponseSchema, bytes);
    if (results.length !== answerable[i]!.length || results.some((r, j) => r.found || r.key !== answerable[i]![j])) {
      throw new ContractViolation(`${what}: response ${i} does not answer its unknown keys with found=false, in order`);
    }
  });
}

beforeAll(async () => {
  t = await startFuzzServer(MAX_KEYS);
  fm = new FuzzModel({ ...TEST_TTLS, maxKeys: MAX_KEYS });
  fm.generated((await t.client.generateKeys({ count: 200 })).keys, t.clock.now());
  t.clock.advance(TEST_TTLS.keepaliveTtlMs);
  t.settle();
  fm.generated((await t.client.generateKeys({ count: 1000 })).keys, t.clock.now());
  for (let i = 0; i < 200; i++) fm.acquired((await t.client.acquireKey({})).key, t.clock.now());
  for (const key of fm.known.slice(200, 300)) {
    await t.client.deleteKey({ key });
    fm.model.delete(key, t.clock.now());
  }
  heapBefore = await heapAfterGc();
});
afterAll(() => t?.close());

describe("fuzz: garbage bytes and cancelled calls", () => {
  it("answers garbage request bytes on every unary method with the precise status", { timeout: 120_000 }, async () => {
    const input = fc.oneof(...UNARY.map((method) => garbageFor(method).map((bytes) => ({ method, bytes }))));
    await runFuzz(fc.array(input, { minLength: 150, maxLength: 150 }), 24, async (batch) => {
      await keepKeysFree();
      // Generates, then acquires, then counts: the model knows every key handed out and counted.
      const phases = [(m: MethodName) => m !== "AcquireKey" && m !== "GetPoolStats", (m: MethodName) => m === "AcquireKey", (m: MethodName) => m === "GetPoolStats"];
      for (const phase of phases) await Promise.all(batch.filter((c) => phase(c.method)).map((c) => sendGarbage(c.method, c.bytes)));
    });
    for (const method of UNARY) expect(tally.counts.get(method), method).toBeGreaterThan(400);
  });

  it("answers garbage KeepAlive frames in order and ends the stream at the first bad one", { timeout: 60_000 }, async () => {
    const frames = fc.array(garbageFor("KeepAlive"), { minLength: 1, maxLength: 3 });
    await runFuzz(fc.array(frames, { minLength: 60, maxLength: 60 }), 20, (streams) => inParallel(streams, 60, streamGarbage));
    expect(tally.counts.get("KeepAlive")).toBeGreaterThan(1_000);
  });

  it("survives calls cancelled right after they were sent, on every method", { timeout: 60_000 }, async () => {
    await runFuzz(fc.array(cancelInput, { minLength: 100, maxLength: 100 }), 12, async (batch) => {
      const known = fm.known;
      await Promise.all(batch.map(async (input) => {
        const target = await playCancelled(t.raw, input, known);
        tally.add(input.method);
        if (input.method === "DeleteKey" && target) maybeDeleted.add(target);
      }));
    });
    // A call cancelled in the tick it started may still reach the server after the client gave
    // up: a round trip on the same connection lets those land before the checks.
    await rawUnary(t.raw, "GetPoolStats", Buffer.alloc(0));
    t.clock.advance(TEST_TTLS.blockTtlMs);
    t.settle();
  });

  it("leaves a server that serves, a consistent pool and the heap where it was", { timeout: 120_000 }, async () => {
    // Cancelled calls may have blocked, released or deleted any key they named: live keys must be
    // consistent, but their state is the server's to say; deleted and dead keys stay gone.
    const known = fm.knownAt(t.clock.now());
    for (const [key, k] of known) if (!("gone" in k && k.gone)) known.set(key, {});
    for (const key of maybeDeleted) known.set(key, { maybeGone: true });
    // Room in the (likely full) pool for the round trip's new key.
    const live = [...known].filter(([, k]) => !("gone" in k) && !("maybeGone" in k)).slice(0, 5);
    for (const [key] of live) {
      await t.client.deleteKey({ key });
      known.set(key, { gone: true });
    }
    const made = fm.known.length;
    const forget = (): void => {
      fm.clear();
      maybeDeleted.clear();
    };
    const heap = await checkAfterFuzz(t, { known: () => known, forget }, heapBefore);
    console.log(`${made} keys made; ${tally.summary("fuzz-garbage")}; ${heap}`);
  });
});
