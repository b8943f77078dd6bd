import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeepAliveRequestSchema, KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import { DEFAULT_LIMITS } from "../../src/server/limits.js";
import { Tally } from "../support/fuzz-calls.js";
import { checkAfterFuzz } from "../support/fuzz-checks.js";
import { eventually } from "../support/eventually.js";
import { heapAfterGc, runFuzz, startFuzzServer } from "../support/fuzz-harness.js";
import type { FuzzServer } from "../support/fuzz-harness.js";
import { FuzzModel } from "../support/fuzz-model.js";
import { abandonInput, abandonStream } from "../support/fuzz-raw-http2.js";
import { playSession, resolveSession, sessionInput } from "../support/fuzz-stream-sessions.js";
import type { Session } from "../support/fuzz-stream-sessions.js";
import { TEST_TTLS } from "../support/test-server.js";

/** 14 rounds of 6 concurrent streams of up to 4 requests of up to 1,000 keys each. */
const STREAMS = 6;
const RUNS = 14;
const MAX_KEYS = 100_000;
const { maxRequestBytes: MAX_BYTES, maxKeepAliveKeys: MAX_PER_REQUEST } = DEFAULT_LIMITS;

let t: FuzzServer;
let fm: FuzzModel;
let heapBefore: number;
const tally = new Tally();

beforeAll(async () => {
  t = await startFuzzServer(MAX_KEYS);
  fm = new FuzzModel({ ...TEST_TTLS, maxKeys: MAX_KEYS });
  // Known keys in every state: dead, deleted, blocked and free.
  fm.generated((await t.client.generateKeys({ count: 300 })).keys, t.clock.now());
  t.clock.advance(TEST_TTLS.keepaliveTtlMs);
  t.settle();
  fm.generated((await t.client.generateKeys({ count: 1000 })).keys, t.clock.now());
  for (let i = 0; i < 200; i++) fm.acquired((await t.client.acquireKey({})).key, t.clock.now());
  for (const key of fm.known.slice(300, 400)) {
    await t.client.deleteKey({ key });
    fm.model.delete(key, t.clock.now());
  }
  heapBefore = await heapAfterGc();
});
afterAll(() => t?.close());

describe("fuzz: KeepAlive streams", () => {
  it("answers every key of every request in order, and ends malformed streams with INVALID_ARGUMENT", { timeout: 120_000 }, async () => {
    await runFuzz(fc.array(sessionInput(4), { minLength: STREAMS, maxLength: STREAMS }), RUNS, async (inputs, run) => {
      t.clock.advance(1_000); // nobody dies: the run is far shorter than the keepalive TTL
      const now = t.clock.now();
      const sessions: Session[] = inputs.map((input) => resolveSession(input, fm.model, fm.known, now, MAX_PER_REQUEST));
      await Promise.all(sessions.map((s, i) => playSession(t.client, s, now + TEST_TTLS.keepaliveTtlMs, `KeepAlive run ${run} stream ${i}`)));
      for (const s of sessions) tally.add("KeepAlive", s.answeredKeys + (s.requests.length - s.found.length));
    });
    expect(tally.counts.get("KeepAlive")).toBeGreaterThan(60_000);
  });

  it("ends requests around the size limit with INVALID_ARGUMENT or RESOURCE_EXHAUSTED", { timeout: 60_000 }, async () => {
    const key = fm.known.at(-1)!;
    const sizeOf = (keys: string[]): number => toBinary(KeepAliveRequestSchema, create(KeepAliveRequestSchema, { keys })).length;
    const big = (bytes: number): string[] => {
      const s = ["x".repeat(bytes - 8)];
      while (sizeOf(s) < bytes) s[0] += "x";
      return s;
    };
    const cases = [
      big(MAX_BYTES - 1), big(MAX_BYTES), big(MAX_BYTES + 1), big(3 * MAX_BYTES),
      Array<string>(30_000).fill(key), Array<string>(40_000).fill(key),
      Array<string>(MAX_PER_REQUEST).fill("y".repeat(1_050)),
    ];
    // A connection of its own: grpc-js keeps refused oversized requests until it closes.
    const client = createTypedClient(KeyService, t.address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
    try {
      for (const keys of cases) {
        const codes = [sizeOf(keys) > MAX_BYTES ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.INVALID_ARGUMENT];
        const found = [[true]];
        const session: Session = { requests: [[key], keys], found, ending: "malformed-key", codes, answeredKeys: 1 };
        await playSession(client, session, t.clock.now() + TEST_TTLS.keepaliveTtlMs, `KeepAlive{${keys.length} keys, ${sizeOf(keys)} bytes}`);
        fm.model.keepAlive(key, t.clock.now());
        tally.add("KeepAlive", 2);
      }
    } finally {
      client.close();
    }
  });

  it("frees every stream a client walks away from", { timeout: 60_000 }, async () => {
    const body = toBinary(KeepAliveRequestSchema, create(KeepAliveRequestSchema, { keys: fm.known.slice(400, 420) }));
    await runFuzz(fc.array(abandonInput, { minLength: 10, maxLength: 10 }), 20, async (inputs) => {
      await Promise.all(inputs.map((input) => abandonStream(t.address, body, input)));
      for (const input of inputs) tally.add("KeepAlive", input.requests);
      await eventually(() => t.server.streams.size === 0, `abandoned streams to close (${t.server.streams.size} open)`);
    });
  });

  it("leaves a server that serves, a consistent pool and the heap where it was", { timeout: 60_000 }, async () => {
    const made = fm.known.length;
    const heap = await checkAfterFuzz(t, { known: () => fm.knownAt(t.clock.now()), forget: () => fm.clear() }, heapBefore);
    console.log(`${made} keys made; ${tally.summary("fuzz-streams")}; ${heap}`);
  });
});
