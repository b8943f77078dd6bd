import { durationFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KeyState } from "../../gen/keypool/v1/keypool_pb.js";
import { serveMetrics } from "../../src/server/metrics-http.js";
import { eventually } from "../support/eventually.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

/**
 * Issue 13 over gRPC: every RPC routed by its `pool` (a key is addressed by pool and key),
 * pools made by GenerateKeys and ImportKeys up to --max-pools, waiting acquires per pool, and
 * listing and cooldowns through the service. Server time is the test server's ManualScheduler.
 */
let t: TestServer;
beforeEach(async () => {
  t = await startTestServer({ maxPools: 4 });
});
afterEach(() => t.close());

const waiting = (n: number) => eventually(() => t.server.waiters.size === n, `${n} waiting AcquireKey calls`);
const wait = (ms: number) => durationFromMs(ms);

describe("routing by pool", () => {
  it("a key lives in one pool: another pool does not know it, and KeyInfo.pool names its pool", async () => {
    const [a] = (await t.client.generateKeys({ pool: "alpha", count: 1 })).keys;
    const [d] = (await t.client.generateKeys({ count: 1 })).keys;
    expect([a!.pool, d!.pool]).toEqual(["alpha", "default"]);
    expect((await t.client.getKey({ pool: "alpha", key: a!.key })).key).toMatchObject({ key: a!.key, pool: "alpha" });
    for (const [pool, key] of [["", a!.key], ["beta", a!.key], ["alpha", d!.key]] as const) {
      await expect(t.client.getKey({ pool, key })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      await expect(t.client.deleteKey({ pool, key })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      await expect(t.client.keepAliveKey({ pool, key })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      await expect(t.client.releaseKey({ pool, key })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    }
    // "" and the default pool's name are one pool.
    expect((await t.client.getKey({ pool: "default", key: d!.key })).key!.pool).toBe("default");
    expect(await t.client.getPoolStats({ pool: "alpha" })).toMatchObject({ total: 1n, free: 1n });
    expect(await t.client.getPoolStats({ pool: "never-made" })).toMatchObject({ total: 0n, free: 0n, blocked: 0n, cooling: 0n });
  });

  it("AcquireKey hands out keys of the asked pool only, and leases are renewed per pool", async () => {
    const alpha = new Set((await t.client.generateKeys({ pool: "alpha", count: 5 })).keys.map((k) => k.key));
    await expect(t.client.acquireKey({ pool: "beta" })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(t.client.acquireKey({})).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    const { key } = await t.client.acquireKey({ pool: "alpha" });
    expect(alpha.has(key!.key)).toBe(true);
    expect(key).toMatchObject({ pool: "alpha", state: KeyState.BLOCKED });
    await expect(t.client.renewLease({ key: key!.key, leaseId: key!.leaseId })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    expect((await t.client.renewLease({ pool: "alpha", key: key!.key, leaseId: key!.leaseId })).key!.pool).toBe("alpha");
  });

  it("GenerateKeys and ImportKeys make pools up to --max-pools; one more is RESOURCE_EXHAUSTED; reads and refused imports make none", async () => {
    for (const pool of ["p1", "p2"]) await t.client.generateKeys({ pool, count: 1 });
    // Reads and acquires of pools nobody made make none.
    for (const pool of ["r1", "r2", "r3", "r4", "r5"]) {
      await t.client.getPoolStats({ pool });
      await t.client.acquireKey({ pool }).catch(() => {});
      await t.client.listKeys({ pool });
      // Nor do imports refused for the batch itself (the fuzz test found they did, filling --max-pools).
      for (const keys of [[], ["short"], ["sk-twice-in-one-batch", "sk-twice-in-one-batch"]]) {
        await expect(t.client.importKeys({ pool, keys })).rejects.toMatchObject({ code: keys.length === 2 ? grpc.status.ALREADY_EXISTS : grpc.status.INVALID_ARGUMENT });
      }
    }
    await expect(t.client.importKeys({ pool: "p3", keys: ["sk-one-more-pool"] })).resolves.toBeDefined(); // default + 3 = 4
    for (const call of [t.client.generateKeys({ pool: "p4", count: 1 }), t.client.importKeys({ pool: "p4", keys: ["sk-one-too-many"] })]) {
      await expect(call).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: expect.stringContaining("--max-pools") });
    }
    // The pools it holds keep working.
    expect((await t.client.generateKeys({ pool: "p1", count: 1 })).keys[0]!.pool).toBe("p1");
  });
});

describe("KeepAlive stream", () => {
  it("each message names one pool for all its keys and leases", async () => {
    await t.client.generateKeys({ pool: "alpha", count: 1 });
    const held = (await t.client.acquireKey({ pool: "alpha" })).key!;
    const call = t.client.keepAlive();
    const ask = (pool: string) => {
      call.write({ pool, keys: [held.key], leases: [{ key: held.key, leaseId: held.leaseId }] });
      return new Promise<{ results: { found: boolean }[]; leaseResults: { renewed: boolean; reason: string }[] }>((resolve) => call.once("data", resolve));
    };
    const inAlpha = await ask("alpha");
    expect([inAlpha.results[0]!.found, inAlpha.leaseResults[0]!.renewed]).toEqual([true, true]);
    const inDefault = await ask("");
    expect([inDefault.results[0]!.found, inDefault.leaseResults[0]]).toEqual([false, expect.objectContaining({ renewed: false, reason: "not-found" })]);
    call.end();
    await new Promise((resolve) => call.on("status", resolve));
  });
});

describe("ImportKeys over gRPC", () => {
  it("imports secrets as free keys of a pool, the same secret into two pools, never twice into one", async () => {
    const secrets = ["sk-live-aaaaaaaaaaaaaaaa", "ghp_bbbbbbbbbbbbbbbbbbbb"];
    const { keys } = await t.client.importKeys({ pool: "llm", keys: secrets });
    expect(keys.map((k) => [k.key, k.pool, k.state])).toEqual(secrets.map((s) => [s, "llm", KeyState.FREE]));
    expect(timestampMs(keys[0]!.expiresAt!)).toBe(t.clock.now() + 300_000);
    expect((await t.client.importKeys({ pool: "other", keys: [secrets[0]!] })).keys[0]!.pool).toBe("other");
    await expect(t.client.importKeys({ pool: "llm", keys: ["sk-new-cccccccccccc", secrets[1]!] })).rejects.toMatchObject({
      code: grpc.status.ALREADY_EXISTS, details: expect.stringContaining("keys[1]"),
    });
    expect((await t.client.getPoolStats({ pool: "llm" })).total).toBe(2n); // nothing of that call was added
    await expect(t.client.importKeys({ pool: "llm", keys: ["short"] })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("keys[0]"),
    });
    const acquired = (await t.client.acquireKey({ pool: "llm" })).key!;
    expect(secrets).toContain(acquired.key);
  });
});

describe("waiting acquires per pool", () => {
  it("a key freed in one pool never serves a waiter of another; a pool made after its waiter arrived serves it", async () => {
    const [a] = (await t.client.generateKeys({ pool: "alpha", count: 1 })).keys;
    const held = (await t.client.acquireKey({ pool: "alpha" })).key!;
    const betaWaiter = t.client.acquireKey({ pool: "beta", wait: wait(30_000) });
    const alphaWaiter = t.client.acquireKey({ pool: "alpha", wait: wait(30_000) });
    await waiting(2);
    await t.client.releaseKey({ pool: "alpha", key: a!.key, leaseId: held.leaseId });
    expect((await alphaWaiter).key).toMatchObject({ key: a!.key, pool: "alpha" });
    expect(t.server.waiters.size).toBe(1);
    const [b] = (await t.client.generateKeys({ pool: "beta", count: 1 })).keys; // makes pool beta
    expect((await betaWaiter).key).toMatchObject({ key: b!.key, pool: "beta" });
  });
});

describe("ReleaseKey with a cooldown, through the service", () => {
  it("COOLING until exactly cooldown_until, then free; a waiting acquire is served when the cooldown ends", async () => {
    await t.client.generateKeys({ pool: "llm", count: 1 });
    const held = (await t.client.acquireKey({ pool: "llm" })).key!;
    const released = (await t.client.releaseKey({ pool: "llm", key: held.key, leaseId: held.leaseId, cooldown: wait(2_000) })).key!;
    const until = t.clock.now() + 2_000;
    expect(released).toMatchObject({ state: KeyState.COOLING, pool: "llm", leaseId: "" });
    expect(timestampMs(released.cooldownUntil!)).toBe(until);
    expect(released.blockedUntil).toBeUndefined();
    expect(await t.client.getPoolStats({ pool: "llm" })).toMatchObject({ total: 1n, free: 0n, blocked: 0n, cooling: 1n });
    const waiter = t.client.acquireKey({ pool: "llm", wait: wait(10_000) });
    await waiting(1);
    t.scheduler.advance(1_999);
    expect(t.server.waiters.size).toBe(1);
    await t.scheduler.advanceAsync(1);
    const { key } = await waiter;
    expect(key).toMatchObject({ key: held.key, state: KeyState.BLOCKED });
    expect(timestampMs(key!.acquiredAt!)).toBe(until);
  });

  it("reports the pool's max cooldown", async () => {
    const stats = await t.client.getPoolStats({});
    expect(stats.maxCooldown && Number(stats.maxCooldown.seconds)).toBe(3600);
  });
});

describe("ListKeys over gRPC", () => {
  it("pages through one pool (page_size 0 means 100), every key once, filtered by state", async () => {
    const made = new Set<string>();
    for (let i = 0; i < 3; i++) for (const k of (await t.client.generateKeys({ pool: "big", count: 100 })).keys) made.add(k.key);
    await t.client.generateKeys({ pool: "other", count: 10 });
    const blocked = new Set<string>();
    for (let i = 0; i < 7; i++) blocked.add((await t.client.acquireKey({ pool: "big" })).key!.key);
    const scan = async (state: KeyState, pageSize = 0) => {
      const seen: string[] = [];
      let pageToken = "";
      do {
        const page = await t.client.listKeys({ pool: "big", state, pageSize, pageToken });
        expect(page.keys.length).toBeLessThanOrEqual(pageSize || 100);
        expect(page.keys.every((k) => k.pool === "big" && (state === KeyState.UNSPECIFIED || k.state === state))).toBe(true);
        seen.push(...page.keys.map((k) => k.key));
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      return seen;
    };
    const all = await scan(KeyState.UNSPECIFIED);
    expect(all.length).toBe(300);
    expect(new Set(all)).toEqual(made);
    expect(new Set(await scan(KeyState.BLOCKED, 3))).toEqual(blocked);
    expect((await scan(KeyState.FREE, 1000)).length).toBe(293);
    expect(await scan(KeyState.COOLING)).toEqual([]);
  });
});

describe("metrics per pool", () => {
  it("labels pool series with the pools the server holds, and misses in pools it does not hold as (unknown)", async () => {
    await t.client.generateKeys({ pool: "alpha", count: 2 });
    await t.client.acquireKey({ pool: "alpha" });
    for (let i = 0; i < 50; i++) await t.client.acquireKey({ pool: `made-up-${i}` }).catch(() => {});
    const { port, server } = await serveMetrics(t.server.metrics, { ready: () => true }, "127.0.0.1", 0);
    try {
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(body).toContain('keypool_keys{pool="alpha",state="free"} 1');
      expect(body).toContain('keypool_keys{pool="alpha",state="blocked"} 1');
      expect(body).toContain('keypool_keys{pool="default",state="cooling"} 0');
      expect(body).toContain('keypool_key_events_total{event="generated",pool="alpha"} 2');
      expect(body).toContain('keypool_key_events_total{event="acquire_misses",pool="(unknown)"} 50');
      expect(body).not.toContain("made-up");
    } finally {
      server.close();
    }
  });
});
