import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer({ maxKeys: 20 });
});
afterEach(() => t.close());

const UNKNOWN_KEY = "kp_AAAAAAAAAAAAAAAAAAAAAAAA";
const UNKNOWN_LEASE = "BBBBBBBBBBBBBBBBBBBBBBBB";

interface StatusCase {
  readonly name: string;
  readonly call: (t: TestServer, key: string, leaseId: string) => Promise<unknown>;
  readonly code: number;
  /** What the message must say so the caller knows the fix. */
  readonly details: RegExp;
}

const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;
const FAILED_PRECONDITION = 9;
const RESOURCE_EXHAUSTED = 8;

const cases = [
  { name: "GenerateKeys over the per-call limit", call: (t) => t.client.generateKeys({ count: 1001 }), code: INVALID_ARGUMENT, details: /at most 1000|between 0 and 1000/ },
  { name: "GenerateKeys beyond --max-keys", call: (t) => t.client.generateKeys({ count: 20 }), code: RESOURCE_EXHAUSTED, details: /--max-keys/ },
  { name: "ReleaseKey with a malformed key", call: (t) => t.client.releaseKey({ key: "nope" }), code: INVALID_ARGUMENT, details: /key is malformed/ },
  { name: "ReleaseKey with an empty key", call: (t) => t.client.releaseKey({ key: "" }), code: INVALID_ARGUMENT, details: /key is empty/ },
  { name: "ReleaseKey with a malformed lease id", call: (t, key) => t.client.releaseKey({ key, leaseId: "x" }), code: INVALID_ARGUMENT, details: /lease_id is malformed/ },
  { name: "ReleaseKey of an unknown key", call: (t) => t.client.releaseKey({ key: UNKNOWN_KEY }), code: NOT_FOUND, details: /no such key/ },
  { name: "ReleaseKey under another lease", call: (t, key) => t.client.releaseKey({ key, leaseId: UNKNOWN_LEASE }), code: FAILED_PRECONDITION, details: /not the key's current lease/ },
  { name: "DeleteKey of an unknown key", call: (t) => t.client.deleteKey({ key: UNKNOWN_KEY }), code: NOT_FOUND, details: /no such key/ },
  { name: "DeleteKey with a malformed key", call: (t) => t.client.deleteKey({ key: "kp_shrt" }), code: INVALID_ARGUMENT, details: /kp_/ },
  { name: "KeepAliveKey of an unknown key", call: (t) => t.client.keepAliveKey({ key: UNKNOWN_KEY }), code: NOT_FOUND, details: /no such key/ },
  { name: "KeepAliveKey with a malformed key", call: (t) => t.client.keepAliveKey({ key: "kp_ " + "!".repeat(23) }), code: INVALID_ARGUMENT, details: /malformed/ },
  { name: "GetKey of an unknown key", call: (t) => t.client.getKey({ key: UNKNOWN_KEY }), code: NOT_FOUND, details: /no such key/ },
  { name: "GetKey with a malformed key", call: (t) => t.client.getKey({ key: "x".repeat(10_000) }), code: INVALID_ARGUMENT, details: /10000 characters/ },
  { name: "GetKey of an expired key", call: async (t, key) => { t.clock.advance(300_000); return t.client.getKey({ key }); }, code: NOT_FOUND, details: /expired/ },
  { name: "ReleaseKey of an expired key", call: async (t, key, leaseId) => { t.clock.advance(300_000); return t.client.releaseKey({ key, leaseId }); }, code: NOT_FOUND, details: /no such key/ },
  { name: "KeepAliveKey cannot revive an expired key", call: async (t, key) => { t.clock.advance(300_000); return t.client.keepAliveKey({ key }); }, code: NOT_FOUND, details: /expired/ },
  { name: "RenewLease with a malformed key", call: (t, _key, leaseId) => t.client.renewLease({ key: "kp_shrt", leaseId }), code: INVALID_ARGUMENT, details: /key is malformed/ },
  { name: "RenewLease without a lease id", call: (t, key) => t.client.renewLease({ key }), code: INVALID_ARGUMENT, details: /lease_id is empty/ },
  { name: "RenewLease with a malformed lease id", call: (t, key) => t.client.renewLease({ key, leaseId: "x" }), code: INVALID_ARGUMENT, details: /lease_id is malformed/ },
  { name: "RenewLease of an unknown key", call: (t, _key, leaseId) => t.client.renewLease({ key: UNKNOWN_KEY, leaseId }), code: NOT_FOUND, details: /no such key/ },
  { name: "RenewLease of a deleted key", call: async (t, key, leaseId) => { await t.client.deleteKey({ key }); return t.client.renewLease({ key, leaseId }); }, code: NOT_FOUND, details: /no such key/ },
  { name: "RenewLease of a dead key", call: async (t, key, leaseId) => { t.clock.advance(300_000); return t.client.renewLease({ key, leaseId }); }, code: NOT_FOUND, details: /expired/ },
  { name: "RenewLease under another lease", call: (t, key) => t.client.renewLease({ key, leaseId: UNKNOWN_LEASE }), code: FAILED_PRECONDITION, details: /blocked under another lease/ },
  { name: "RenewLease of an ended lease (released)", call: async (t, key, leaseId) => { await t.client.releaseKey({ key, leaseId }); return t.client.renewLease({ key, leaseId }); }, code: FAILED_PRECONDITION, details: /the key is free/ },
  { name: "RenewLease exactly at blocked_until", call: async (t, key, leaseId) => { t.clock.advance(60_000); return t.client.renewLease({ key, leaseId }); }, code: FAILED_PRECONDITION, details: /lease ended/ },
  { name: "ReleaseKey of a deleted key", call: async (t, key) => { await t.client.deleteKey({ key }); return t.client.releaseKey({ key }); }, code: NOT_FOUND, details: /no such key/ },
] satisfies StatusCase[];

describe("KeyService errors over gRPC", () => {
  it.each(cases)("$name", async ({ call, code, details }) => {
    // One blocked key to act on: everything but the second GenerateKeys fits in --max-keys 20.
    await t.client.generateKeys({ count: 1 });
    const { key } = await t.client.acquireKey({});
    const err = await call(t, key!.key, key!.leaseId).then(
      () => undefined,
      (e: unknown) => e as { code: number; details: string },
    );
    expect(err, "the call should have failed").toBeDefined();
    expect(err!.code).toBe(code);
    expect(err!.details).toMatch(details);
    expect(err!.details).not.toMatch(/\n\s+at /); // never a stack trace
    expect(err!.details).not.toContain(key!.key); // never the whole key
  });

  it("AcquireKey on an empty pool answers NOT_FOUND and says why", async () => {
    const err = await t.client.acquireKey({}).catch((e: { code: number; details: string }) => e);
    expect(err).toMatchObject({ code: NOT_FOUND, details: expect.stringMatching(/no free key/) });
  });

  it("a failed GenerateKeys adds nothing", async () => {
    await t.client.generateKeys({ count: 15 });
    await expect(t.client.generateKeys({ count: 6 })).rejects.toMatchObject({ code: RESOURCE_EXHAUSTED });
    const stats = await t.client.getPoolStats({});
    expect(stats.total).toBe(15n);
    await t.client.generateKeys({ count: 5 });
    expect((await t.client.getPoolStats({})).total).toBe(20n);
  });
});
