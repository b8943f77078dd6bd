import { durationFromMs } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(() => t.close());

const wait = (ms: number) => ({ wait: durationFromMs(ms) });

const waiting = (n: number) => eventually(() => t.server.waiters.size === n, `${n} waiting AcquireKey calls`);

// Server time is the test server's ManualScheduler: waits and block deadlines pass only when the
// test advances it. `eventually` waits on the network (calls arriving), never on domain time.
describe("waiting AcquireKey", () => {
  it("serves waiters in arrival order as keys are released", async () => {
    await t.client.generateKeys({ count: 2 });
    const held = [(await t.client.acquireKey({})).key!, (await t.client.acquireKey({})).key!];
    const order: number[] = [];
    const waiters = [0, 1, 2].map((i) => t.client.acquireKey(wait(30_000)).then((r) => (order.push(i), r.key!)));
    await waiting(3);
    await t.client.releaseKey({ key: held[1]!.key });
    await eventually(() => order.length === 1, "the first waiter served");
    await t.client.releaseKey({ key: held[0]!.key });
    const [first, second] = await Promise.all(waiters.slice(0, 2));
    expect(order).toEqual([0, 1]);
    expect([first!.key, second!.key]).toEqual([held[1]!.key, held[0]!.key]);
    expect(t.server.waiters.size).toBe(1);
    await t.client.generateKeys({ count: 1 }); // a new key serves the last waiter
    await expect(waiters[2]).resolves.toBeDefined();
  });

  it("a key released automatically at its deadline goes to a waiter", async () => {
    await t.client.generateKeys({ count: 1 });
    await t.client.acquireKey({});
    const waiter = t.client.acquireKey(wait(60_000));
    await waiting(1);
    t.scheduler.advance(59_999);
    expect(t.server.waiters.size).toBe(1);
    // The block ends as the wait does; the sweeper's timer was set first, so the waiter gets the key.
    await t.scheduler.advanceAsync(1);
    const { key } = await waiter;
    expect(key!.leaseId).toHaveLength(24);
  });

  it("answers NOT_FOUND when no key became free in time", async () => {
    const call = t.client.acquireKey(wait(50)).catch((e: grpc.ServiceError) => e);
    await waiting(1);
    t.scheduler.advance(49);
    expect(t.server.waiters.size).toBe(1);
    t.scheduler.advance(1);
    const err = await call;
    expect(err).toMatchObject({ code: grpc.status.NOT_FOUND, details: expect.stringMatching(/no key became free within 50 ms/) });
  });

  it("a waiter whose call ended never receives a key: it stays free for the next caller", async () => {
    await t.client.generateKeys({ count: 1 });
    const { key } = await t.client.acquireKey({});
    // The server's wait (on its manual scheduler) outlasts the call's real deadline.
    const gone = t.client.acquireKey(wait(60_000), { timeoutMs: 300 });
    await expect(gone).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    await waiting(0);
    expect(t.server.waiters.size).toBe(0);
    await t.client.releaseKey({ key: key!.key });
    const stats = await t.client.getPoolStats({});
    expect([stats.free, stats.blocked]).toEqual([1n, 0n]);
  });

  it("a wait over 5 minutes is INVALID_ARGUMENT", async () => {
    await expect(t.client.acquireKey(wait(300_001))).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/between 0 and 300s/),
    });
  });

  it("waiters get UNAVAILABLE when the server shuts down", async () => {
    const waiter = t.client.acquireKey(wait(60_000)).catch((e: grpc.ServiceError) => e);
    await waiting(1);
    await t.server.shutdown();
    expect(await waiter).toMatchObject({ code: grpc.status.UNAVAILABLE });
  });
});
