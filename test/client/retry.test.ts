import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { backoffMs } from "../../src/client/retry.js";
import { createKeyPoolClient, DEFAULT_RETRY_POLICY, KeyPoolClientError } from "../../src/index.js";
import type { KeyPoolClient, KeyPoolClientOptions, LeasedKey, PoolKey } from "../../src/index.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";
import { flakyInterceptor } from "./support/flaky.js";
import type { FlakyPlan } from "./support/flaky.js";
import { RecordingScheduler } from "./support/recording-scheduler.js";

let t: TestServer;
const clients: KeyPoolClient[] = [];
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await t.close();
});

/** A client whose calls fail as `plan` says; backoff waits are recorded, not slept. */
function flakyClient(plan: FlakyPlan, options: KeyPoolClientOptions = {}) {
  const { interceptor, calls } = flakyInterceptor(plan);
  const scheduler = new RecordingScheduler();
  const client = createKeyPoolClient(t.address, { interceptors: [interceptor], scheduler, ...options });
  clients.push(client);
  return { client, calls, scheduler };
}

async function outcome(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => "OK",
    (err: unknown) => (err as KeyPoolClientError).code,
  );
}

interface Case {
  readonly method: string;
  readonly retried: boolean;
  readonly call: (client: KeyPoolClient, free: PoolKey, leased: LeasedKey) => Promise<unknown>;
}

const CASES = [
  { method: "GetKey", retried: true, call: (c, free) => c.getKey(free.key) },
  { method: "GetPoolStats", retried: true, call: (c) => c.getPoolStats() },
  { method: "KeepAliveKey", retried: true, call: (c, free) => c.keepAliveKey(free.key) },
  { method: "KeepAlive", retried: true, call: (c, free) => c.keepAliveKeys([free.key]) },
  { method: "ReleaseKey", retried: true, call: (c, _, leased) => c.releaseKey(leased.key, leased.leaseId) },
  { method: "RenewLease", retried: true, call: (c, _, leased) => c.renewLease(leased.key, leased.leaseId) },
  { method: "DeleteKey", retried: true, call: (c, free) => c.deleteKey(free.key) },
  { method: "ReleaseKey", retried: false, call: (c, _, leased) => c.releaseKey(leased.key, { unfenced: true }) },
  { method: "AcquireKey", retried: false, call: (c) => c.acquireKey() },
  { method: "GenerateKeys", retried: false, call: (c) => c.generateKeys(1) },
  { method: "ListKeys", retried: true, call: (c) => c.listKeys().next() },
  { method: "ReleaseKey", retried: true, call: (c, _, leased) => c.releaseKey(leased, leased.leaseId, { cooldownMs: 1_000 }) },
  { method: "ImportKeys", retried: false, call: (c) => c.importKeys(["sk-retry-imported-0001"]) },
] satisfies Case[];

describe("retries", () => {
  it("retries UNAVAILABLE only on calls that are safe to repeat", async () => {
    const setup = createKeyPoolClient(t.address);
    clients.push(setup);
    for (const { method, retried, call } of CASES) {
      const generated = await setup.generateKeys(2);
      const leased = await setup.acquireKey();
      const free = generated.find((k) => k.key !== leased.key)!;
      const { client, calls } = flakyClient({ before: { [method]: 2 } });
      const result = await outcome(call(client, free, leased));
      expect({ method, retried, result, calls: calls[method] }).toEqual({
        method, retried, result: retried ? "OK" : "UNAVAILABLE", calls: retried ? 3 : 1,
      });
      await setup.releaseKey(leased.key, { unfenced: true });
    }
  });

  it("gives up after maxAttempts with the last UNAVAILABLE", async () => {
    const { client, calls, scheduler } = flakyClient({ before: { GetPoolStats: 99 } }, { random: () => 1 });
    expect(await outcome(client.getPoolStats())).toBe("UNAVAILABLE");
    expect(calls.GetPoolStats).toBe(DEFAULT_RETRY_POLICY.maxAttempts);
    expect(scheduler.waits).toEqual([100, 200, 400]);
  });

  it("never waits past the call's deadline: it fails with the last error instead", async () => {
    const retry = { initialBackoffMs: 4_000, maxBackoffMs: 60_000 };
    const { client, calls, scheduler } = flakyClient({ before: { GetPoolStats: 99 } }, { random: () => 1, retry });
    expect(await outcome(client.getPoolStats({ timeoutMs: 6_000 }))).toBe("UNAVAILABLE");
    // Waited 4 s (recorded, not slept); 8 s more before a third attempt would pass the deadline.
    expect([calls.GetPoolStats, scheduler.waits]).toEqual([2, [4_000]]);
  });

  it("retry: false makes every call a single attempt", async () => {
    const { client, calls } = flakyClient({ before: { GetPoolStats: 1 } }, { retry: false });
    expect(await outcome(client.getPoolStats())).toBe("UNAVAILABLE");
    expect(calls.GetPoolStats).toBe(1);
  });

  it("DeleteKey whose response was lost: the retry's NOT_FOUND counts as success", async () => {
    const { keys } = await t.client.generateKeys({ count: 1 });
    const { client, calls } = flakyClient({ after: { DeleteKey: 1 } });
    await client.deleteKey(keys[0]!.key);
    expect(calls.DeleteKey).toBe(2);
    expect(await outcome(client.getKey(keys[0]!.key))).toBe("NOT_FOUND");
  });

  it("AcquireKey whose response was lost is not retried: that key stays blocked for one block TTL", async () => {
    await t.client.generateKeys({ count: 2 });
    const { client, calls } = flakyClient({ after: { AcquireKey: 1 } });
    expect(await outcome(client.acquireKey())).toBe("UNAVAILABLE");
    expect(calls.AcquireKey).toBe(1);
    expect(await client.getPoolStats()).toMatchObject({ free: 1, blocked: 1 });
    t.clock.advance(60_000);
    expect(await client.getPoolStats()).toMatchObject({ free: 2, blocked: 0 });
  });

  it("backs off exponentially with equal jitter, capped", () => {
    const policy = { ...DEFAULT_RETRY_POLICY, maxBackoffMs: 1_000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, policy, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, policy, () => 0.999999))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});

describe("KeyPoolClientError", () => {
  it("normalises grpc errors, aborts and anything else", () => {
    expect(KeyPoolClientError.from({ code: 5, details: "gone", message: "5 NOT_FOUND: gone" }, "GetKey")).toMatchObject({
      code: "NOT_FOUND", method: "GetKey", details: "gone", message: "GetKey: NOT_FOUND: gone",
    });
    expect(KeyPoolClientError.from(new DOMException("x", "AbortError"), "GetKey").code).toBe("CANCELLED");
    expect(KeyPoolClientError.from(new Error("boom"), "GetKey")).toMatchObject({ code: "UNKNOWN", details: "boom" });
  });
});
