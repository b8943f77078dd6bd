import { timestampMs } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { KeepAliveResponse } from "../../gen/keypool/v1/keypool_pb.js";
import { KeyState } from "../../gen/keypool/v1/keypool_pb.js";
import { ManualClock } from "../../src/clock.js";
import { seededRandom } from "../../src/random.js";
import { ManualScheduler } from "../../src/scheduler.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

const BLOCK = 60_000;
const LIFE = 300_000;
const MAX_LEASE = 3 * BLOCK;
const UNKNOWN_KEY = "kp_AAAAAAAAAAAAAAAAAAAAAAAA";
const OTHER_LEASE = "BBBBBBBBBBBBBBBBBBBBBBBB";

let t: TestServer;
beforeEach(async () => {
  const clock = new ManualClock();
  const scheduler = new ManualScheduler(clock);
  const store = EmbeddedStore.memory({ blockTtlMs: BLOCK, keepaliveTtlMs: LIFE, maxKeys: 100, maxLeaseMs: MAX_LEASE, scheduler, random: seededRandom(3) });
  t = await startTestServer({ scheduler, store });
});
afterEach(() => t.close());

/** Sends each request on one stream and collects the responses and the final status. */
async function stream(requests: { keys?: string[]; leases?: { key: string; leaseId: string }[] }[]) {
  const call = t.client.keepAlive();
  const responses: KeepAliveResponse[] = [];
  call.on("data", (r: KeepAliveResponse) => responses.push(r));
  const status = new Promise<grpc.StatusObject>((resolve) => {
    call.on("error", () => {});
    call.on("status", resolve);
  });
  for (const r of requests) call.write(r);
  call.end();
  return { responses, status: await status };
}

describe("RenewLease over gRPC", () => {
  it("extends block and life from now for the current lease, keeping lease id, fencing token and acquired_at", async () => {
    await t.client.generateKeys({ count: 1 });
    const { key: got } = await t.client.acquireKey({});
    expect(got!.fencingToken).toBe(1n);
    expect(timestampMs(got!.acquiredAt!)).toBe(t.clock.now());
    t.clock.advance(BLOCK - 1);
    const { key: renewed } = await t.client.renewLease({ key: got!.key, leaseId: got!.leaseId });
    expect(renewed).toMatchObject({ key: got!.key, state: KeyState.BLOCKED, leaseId: got!.leaseId, fencingToken: 1n });
    expect(timestampMs(renewed!.blockedUntil!)).toBe(t.clock.now() + BLOCK);
    expect(timestampMs(renewed!.expiresAt!)).toBe(t.clock.now() + LIFE);
    expect(renewed!.acquiredAt).toEqual(got!.acquiredAt);
  });

  it("answers FAILED_PRECONDITION naming --max-lease past the longest lease, and the block still ends on time", async () => {
    await t.client.generateKeys({ count: 1 });
    const { key: got } = await t.client.acquireKey({});
    for (let i = 0; i < 4; i++) {
      t.clock.advance(BLOCK / 2);
      await t.client.renewLease({ key: got!.key, leaseId: got!.leaseId });
    }
    t.clock.advance(BLOCK / 2);
    const err = await t.client.renewLease({ key: got!.key, leaseId: got!.leaseId }).catch((e: grpc.ServiceError) => e);
    expect(err).toMatchObject({ code: grpc.status.FAILED_PRECONDITION, details: expect.stringMatching(/--max-lease/) });
    t.clock.set(timestampMs(got!.acquiredAt!) + MAX_LEASE);
    expect((await t.client.getKey({ key: got!.key })).key!.state).toBe(KeyState.FREE);
  });
});

describe("lease renewals in the KeepAlive stream", () => {
  it("answers each message once, with one lease result per lease in order; refusals never end the stream", async () => {
    const { keys } = await t.client.generateKeys({ count: 3 });
    const a = (await t.client.acquireKey({})).key!;
    const b = (await t.client.acquireKey({})).key!;
    const free = keys.find((k) => k.key !== a.key && k.key !== b.key)!.key;
    await t.client.releaseKey({ key: b.key, leaseId: b.leaseId });
    t.clock.advance(1_000);
    const { responses, status } = await stream([
      { keys: [free], leases: [{ key: a.key, leaseId: a.leaseId }, { key: UNKNOWN_KEY, leaseId: a.leaseId }, { key: b.key, leaseId: b.leaseId }] },
      { leases: [{ key: a.key, leaseId: OTHER_LEASE }] },
      {},
    ]);
    expect(status.code).toBe(grpc.status.OK);
    expect(responses.map((r) => [r.results.map((x) => x.found), r.leaseResults.map((x) => [x.key, x.leaseId, x.renewed, x.reason])])).toEqual([
      [[true], [[a.key, a.leaseId, true, ""], [UNKNOWN_KEY, a.leaseId, false, "not-found"], [b.key, b.leaseId, false, "lease-ended"]]],
      [[], [[a.key, OTHER_LEASE, false, "lease-ended"]]],
      [[], []],
    ]);
    const renewed = responses[0]!.leaseResults[0]!;
    expect(timestampMs(renewed.blockedUntil!)).toBe(t.clock.now() + BLOCK);
    expect(timestampMs(renewed.expiresAt!)).toBe(t.clock.now() + LIFE);
    expect(responses[0]!.leaseResults[1]!.blockedUntil).toBeUndefined();
  });

  it("holds a lease for hours over one stream, and reports max-lease when it runs out", async () => {
    await t.client.generateKeys({ count: 1 });
    const got = (await t.client.acquireKey({})).key!;
    const call = t.client.keepAlive();
    const reasons: string[] = [];
    call.on("data", (r: KeepAliveResponse) => reasons.push(r.leaseResults[0]!.reason || "renewed"));
    const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
    for (let i = 0; i < 6; i++) {
      const answered = new Promise((resolve) => call.once("data", resolve));
      call.write({ leases: [{ key: got.key, leaseId: got.leaseId }] });
      await answered;
      await expect(t.client.acquireKey({})).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      t.clock.advance(BLOCK / 2);
    }
    call.end();
    expect((await status).code).toBe(grpc.status.OK);
    expect(reasons).toEqual(["renewed", "renewed", "renewed", "renewed", "renewed", "max-lease"]);
  });

  it("ends the stream with INVALID_ARGUMENT for a malformed lease, naming it, before anything changes", async () => {
    const { keys } = await t.client.generateKeys({ count: 1 });
    const got = (await t.client.acquireKey({})).key!;
    t.clock.advance(1_000);
    const { status } = await stream([{ keys: [keys[0]!.key], leases: [{ key: got.key, leaseId: got.leaseId }, { key: got.key, leaseId: "" }] }]);
    expect(status).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/^leases\[1\]\.lease_id is empty/) });
    expect(timestampMs((await t.client.getKey({ key: got.key })).key!.expiresAt!)).toBe(t.clock.now() - 1_000 + LIFE);
  });
});
