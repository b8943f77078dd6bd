import { getEventListeners } from "node:events";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createKeyPoolClient, KeyPoolClientError } from "../../src/index.js";
import type { KeyPoolClient } from "../../src/index.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";
import { eventually } from "../support/eventually.js";

let t: TestServer;
let client: KeyPoolClient;
beforeEach(async () => {
  t = await startTestServer();
  client = createKeyPoolClient(t.address);
});
afterEach(async () => {
  client.close();
  await t.close();
});

const UNKNOWN_KEY = "kp_AAAAAAAAAAAAAAAAAAAAAAAA";

/** The error a call rejected with. */
async function failure(call: Promise<unknown>): Promise<KeyPoolClientError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KeyPoolClientError);
  return err as KeyPoolClientError;
}

describe("KeyPoolClient methods", () => {
  it("generateKeys returns free keys with epoch-ms timestamps", async () => {
    const now = t.clock.now();
    const keys = await client.generateKeys(3);
    expect(keys).toHaveLength(3);
    for (const k of keys) {
      expect(k).toEqual({ key: k.key, pool: "default", state: "free", leaseId: undefined, blockedUntil: undefined, expiresAt: now + 300_000, createdAt: now, fencingToken: 0, acquiredAt: undefined, cooldownUntil: undefined });
      expect(k.key).toMatch(/^kp_[A-Za-z0-9_-]{24}$/);
    }
    expect(await client.generateKeys()).toHaveLength(1);
  });

  it("acquireKey leases a key; with none free it rejects NOT_FOUND", async () => {
    const [generated] = await client.generateKeys(1);
    const leased = await client.acquireKey();
    expect(leased).toMatchObject({ key: generated!.key, state: "blocked", blockedUntil: t.clock.now() + 60_000 });
    expect(leased.leaseId).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const err = await failure(client.acquireKey());
    expect([err.code, err.method]).toEqual(["NOT_FOUND", "AcquireKey"]);
  });

  it("acquireKey({ waitMs }) waits for a key that turns up during the wait", async () => {
    const waiting = client.acquireKey({ waitMs: 10_000 });
    await eventually(() => t.server.waiters.size === 1, "the acquire to wait");
    const [generated] = await client.generateKeys(1);
    expect((await waiting).key).toBe(generated!.key);
  });

  it("releaseKey frees a key, under its lease or without one; a stale lease is FAILED_PRECONDITION", async () => {
    await client.generateKeys(1);
    const first = await client.acquireKey();
    expect(await client.releaseKey(first.key, first.leaseId)).toMatchObject({ state: "free", leaseId: undefined });
    const second = await client.acquireKey();
    const err = await failure(client.releaseKey(first.key, first.leaseId));
    expect(err.code).toBe("FAILED_PRECONDITION");
    expect((await client.getKey(second.key)).state).toBe("blocked");
    expect((await client.releaseKey(second.key, { unfenced: true })).state).toBe("free");
  });

  it("deleteKey purges a key; deleting it again is NOT_FOUND", async () => {
    const [k] = await client.generateKeys(1);
    await client.deleteKey(k!.key);
    expect((await failure(client.getKey(k!.key))).code).toBe("NOT_FOUND");
    expect((await failure(client.deleteKey(k!.key))).code).toBe("NOT_FOUND");
  });

  it("keepAliveKey extends life, never the block", async () => {
    await client.generateKeys(1);
    const leased = await client.acquireKey();
    t.clock.advance(10_000);
    const kept = await client.keepAliveKey(leased.key);
    expect(kept).toMatchObject({ state: "blocked", expiresAt: t.clock.now() + 300_000, blockedUntil: leased.blockedUntil });
  });

  it("keepAliveKeys keeps many keys alive over one stream, in order, split in requests of 1000", async () => {
    const keys = [...(await client.generateKeys(1000)), ...(await client.generateKeys(500))].map((k) => k.key);
    t.clock.advance(1_000);
    const outcomes = await client.keepAliveKeys([keys[0]!, UNKNOWN_KEY, ...keys.slice(1)]);
    expect(outcomes).toHaveLength(1501);
    expect(outcomes[0]).toEqual({ key: keys[0], found: true, expiresAt: t.clock.now() + 300_000 });
    expect(outcomes[1]).toEqual({ key: UNKNOWN_KEY, found: false, expiresAt: undefined });
    expect(outcomes.slice(2).map((o) => o.key)).toEqual(keys.slice(1));
    expect(await client.keepAliveKeys([])).toEqual([]);
  });

  it("keepAliveKeys refuses a malformed key before sending, naming its position, never its value", async () => {
    const err = await failure(client.keepAliveKeys([UNKNOWN_KEY, "kp_secret but malformed"]));
    expect(err.code).toBe("INVALID_ARGUMENT");
    expect(err.message).toMatch(/keys\[1\] is malformed \(got 23 characters/);
    expect(err.message).not.toContain("secret");
  });

  it("getKey describes a key; an unknown key is NOT_FOUND and the message never holds the key", async () => {
    const [k] = await client.generateKeys(1);
    expect(await client.getKey(k!.key)).toEqual(k);
    const err = await failure(client.getKey(UNKNOWN_KEY));
    expect(err.code).toBe("NOT_FOUND");
    expect(err.message).not.toContain(UNKNOWN_KEY);
  });

  it("getPoolStats counts keys and reports the TTLs in ms", async () => {
    await client.generateKeys(3);
    await client.acquireKey();
    expect(await client.getPoolStats()).toEqual({
      total: 3, free: 2, blocked: 1, cooling: 0, maxKeys: 100_000, blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxCooldownMs: 3_600_000,
    });
  });

  it("an aborted signal cancels the call", async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await failure(client.getPoolStats({ signal: controller.signal }))).code).toBe("CANCELLED");
  });

  it("a long-lived signal shared by many calls keeps no listeners", async () => {
    const { signal } = new AbortController();
    for (let i = 0; i < 15; i++) await client.getPoolStats({ signal });
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
  });

  it("an unreachable server is UNAVAILABLE, after the retries", async () => {
    const nowhere = createKeyPoolClient("127.0.0.1:1", { retry: { initialBackoffMs: 1, maxBackoffMs: 2 } });
    try {
      expect((await failure(nowhere.getPoolStats())).code).toBe("UNAVAILABLE");
    } finally {
      nowhere.close();
    }
  });

  it("refuses invalid options with a message naming the option", () => {
    expect(() => createKeyPoolClient("x:1", { defaultTimeoutMs: 0 })).toThrow(/defaultTimeoutMs must be positive/);
    expect(() => createKeyPoolClient("x:1", { token: "two words" })).toThrow(/token must be/);
    expect(() => createKeyPoolClient("x:1", { tls: { cert: Buffer.from("x") } })).toThrow(/tls.cert and tls.key go together/);
  });
});
