import { timestampMs, durationMs } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KeyState } from "../../gen/keypool/v1/keypool_pb.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(() => t.close());

const KEY_SHAPE = /^kp_[A-Za-z0-9_-]{24}$/;

describe("KeyService over gRPC", () => {
  it("generates free keys in the documented format, alive for one keepalive TTL", async () => {
    const now = t.clock.now();
    const { keys } = await t.client.generateKeys({ count: 0 });
    expect(keys).toHaveLength(1);
    const many = await t.client.generateKeys({ count: 1000 });
    expect(many.keys).toHaveLength(1000);
    for (const k of [...keys, ...many.keys]) {
      expect(k.key).toMatch(KEY_SHAPE);
      expect(k.state).toBe(KeyState.FREE);
      expect(k.leaseId).toBe("");
      expect(k.blockedUntil).toBeUndefined();
      expect(timestampMs(k.createdAt!)).toBe(now);
      expect(timestampMs(k.expiresAt!)).toBe(now + 300_000);
    }
    expect(new Set(many.keys.map((k) => k.key)).size).toBe(1000);
  });

  it("acquire blocks a key for the block TTL under a fresh lease; release frees it", async () => {
    await t.client.generateKeys({ count: 1 });
    const { key } = await t.client.acquireKey({});
    expect(key!.state).toBe(KeyState.BLOCKED);
    expect(key!.leaseId).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(timestampMs(key!.blockedUntil!)).toBe(t.clock.now() + 60_000);
    await expect(t.client.acquireKey({})).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    const released = await t.client.releaseKey({ key: key!.key, leaseId: key!.leaseId });
    expect(released.key!.state).toBe(KeyState.FREE);
    const again = await t.client.acquireKey({});
    expect(again.key!.key).toBe(key!.key);
    expect(again.key!.leaseId).not.toBe(key!.leaseId);
  });

  it("releases a blocked key by itself exactly at blocked_until, with no call needed", async () => {
    await t.client.generateKeys({ count: 1 });
    const { key } = await t.client.acquireKey({});
    t.clock.advance(59_999);
    expect((await t.client.getKey({ key: key!.key })).key!.state).toBe(KeyState.BLOCKED);
    t.clock.advance(1);
    expect((await t.client.getKey({ key: key!.key })).key!.state).toBe(KeyState.FREE);
    const stats = await t.client.getPoolStats({});
    expect([stats.free, stats.blocked]).toEqual([1n, 0n]);
  });

  it("keepalive extends life but not the block; release does not extend life", async () => {
    const { keys } = await t.client.generateKeys({ count: 1 });
    const key = keys[0]!.key;
    const acquired = (await t.client.acquireKey({})).key!;
    t.clock.advance(10_000);
    const kept = (await t.client.keepAliveKey({ key })).key!;
    expect(timestampMs(kept.expiresAt!)).toBe(t.clock.now() + 300_000);
    expect(kept.state).toBe(KeyState.BLOCKED);
    expect(timestampMs(kept.blockedUntil!)).toBe(timestampMs(acquired.blockedUntil!));
    const released = (await t.client.releaseKey({ key })).key!;
    expect(timestampMs(released.expiresAt!)).toBe(timestampMs(kept.expiresAt!));
  });

  it("a key not kept alive dies at expires_at, blocked or not, and is never handed out", async () => {
    await t.client.generateKeys({ count: 2 });
    const blocked = (await t.client.acquireKey({})).key!;
    t.clock.advance(299_999);
    await t.client.getKey({ key: blocked.key });
    t.clock.advance(1);
    await expect(t.client.getKey({ key: blocked.key })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(t.client.acquireKey({})).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    expect((await t.client.getPoolStats({})).total).toBe(0n);
  });

  it("delete purges a blocked key and its pending auto-release never brings it back", async () => {
    await t.client.generateKeys({ count: 1 });
    const { key } = await t.client.acquireKey({});
    await t.client.deleteKey({ key: key!.key });
    t.clock.advance(60_000);
    await expect(t.client.getKey({ key: key!.key })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(t.client.acquireKey({})).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("reports counts, TTLs and capacity", async () => {
    await t.client.generateKeys({ count: 3 });
    await t.client.acquireKey({});
    const stats = await t.client.getPoolStats({});
    expect(stats).toMatchObject({ total: 3n, free: 2n, blocked: 1n, maxKeys: 100_000n });
    expect(durationMs(stats.blockTtl!)).toBe(60_000);
    expect(durationMs(stats.keepaliveTtl!)).toBe(300_000);
  });

  it("2,000 concurrent AcquireKey calls on 1,000 keys: exactly 1,000 distinct keys and 1,000 NOT_FOUND", async () => {
    for (let i = 0; i < 1000; i += 500) await t.client.generateKeys({ count: 500 });
    const outcomes = await Promise.allSettled(Array.from({ length: 2000 }, () => t.client.acquireKey({})));
    const won = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value.key!.key] : []));
    const lost = outcomes.flatMap((o) => (o.status === "rejected" ? [(o.reason as grpc.ServiceError).code] : []));
    expect(new Set(won).size).toBe(1000);
    expect(won).toHaveLength(1000);
    expect(lost).toEqual(Array(1000).fill(grpc.status.NOT_FOUND));
  });

  it("answers garbage request bytes with INVALID_ARGUMENT and keeps serving", async () => {
    const raw = new grpc.Client(t.address, grpc.credentials.createInsecure());
    const methods = ["GenerateKeys", "ImportKeys", "ListKeys", "AcquireKey", "ReleaseKey", "DeleteKey", "RenewLease", "KeepAliveKey", "GetKey", "GetPoolStats"];
    try {
      for (const method of methods) {
        const err = await new Promise<grpc.ServiceError | null>((resolve) =>
          raw.makeUnaryRequest(`/keypool.v1.KeyService/${method}`, (b: Buffer) => b, (b: Buffer) => b,
            Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), (e) => resolve(e)),
        );
        expect(err?.code, method).toBe(grpc.status.INVALID_ARGUMENT);
        expect(err?.details).toMatch(/not a valid keypool\.v1\.\w+Request message/);
      }
    } finally {
      raw.close();
    }
    expect((await t.client.getPoolStats({})).total).toBe(0n);
  });

  it.each([-1, 1_000_000_000, 2 ** 31 - 1])("refuses a wait with nanos %d: INVALID_ARGUMENT naming the field", async (nanos) => {
    await expect(t.client.acquireKey({ wait: { seconds: 1n, nanos } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/wait.nanos must be from 0 to 999999999/),
    });
  });
});
