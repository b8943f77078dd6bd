import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualScheduler } from "../client/support/manual-scheduler.js";
import { startCli } from "../client/support/run-cli.js";
import { eventually } from "../support/eventually.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

const BLOCK = 60_000;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

/** The JSON lines a command printed so far. */
const lines = (stdout: string): Record<string, unknown>[] => stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));

describe("keypool acquire --hold", () => {
  it("renews the lease (one JSON line per renewal) until interrupted, then releases it under its lease and exits 0", async () => {
    const own = await startTestServer();
    try {
      const [made] = (await own.client.generateKeys({ count: 1 })).keys;
      const scheduler = new ManualScheduler(own.clock);
      const stop = new AbortController();
      const running = startCli(["acquire", "--hold", "--json"], { address: own.address, signal: stop.signal, clientOptions: { scheduler } });
      const blockedUntil = async (): Promise<number> => {
        const at = (await own.client.getKey({ key: made!.key })).key!.blockedUntil;
        return at ? Number(at.seconds) * 1000 + Math.floor(at.nanos / 1e6) : 0;
      };
      await eventually(async () => (await blockedUntil()) === own.clock.now() + BLOCK, "the key to be acquired and renewed");
      for (let i = 0; i < 9; i++) {
        // Each third of the block TTL one renewal, confirmed before time moves on: 3 block TTLs in all.
        scheduler.advance(BLOCK / 3);
        const due = own.clock.now() + BLOCK;
        await eventually(async () => (await blockedUntil()) === due, "the renewal");
        await expect(own.client.acquireKey({})).rejects.toMatchObject({ code: 5 });
      }
      stop.abort();
      const run = await running.done;
      expect(run.code).toBe(0);
      const events = lines(run.stdout);
      expect(events[0]).toMatchObject({ event: "acquired", key: made!.key, state: "blocked", fencingToken: 1 });
      expect(events.filter((e) => e.event === "renewed").length).toBeGreaterThanOrEqual(10);
      expect(events.at(-1)).toEqual({ event: "released", key: made!.key });
      expect((await own.client.getKey({ key: made!.key })).key!.state).toBe(1); // FREE
    } finally {
      await own.close();
    }
  });

  it("exits 3 with one line saying why when the key is deleted under it", async () => {
    const { keys } = await t.client.generateKeys({ count: 1 });
    const scheduler = new ManualScheduler(t.clock);
    const running = startCli(["acquire", "--hold"], { address: t.address, clientOptions: { scheduler } });
    await eventually(() => running.stderr().includes("Ctrl-C to release"), "the hold to start");
    for (const k of keys) await t.client.deleteKey({ key: k.key }).catch(() => {});
    scheduler.advance(BLOCK / 3);
    const run = await running.done;
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/lost the lease of kp_.{4}…: not-found\n$/);
  });
});

describe("keypool renew", () => {
  it("renews once under the current lease; a stale lease exits 4, a missing --lease 2", async () => {
    await t.client.generateKeys({ count: 1 });
    const { key } = await t.client.acquireKey({});
    const ok = await startCli(["renew", key!.key, "--lease", key!.leaseId, "--json"], { address: t.address }).done;
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ key: key!.key, leaseId: key!.leaseId, fencingToken: Number(key!.fencingToken) });
    await t.client.releaseKey({ key: key!.key, leaseId: key!.leaseId });
    const stale = await startCli(["renew", key!.key, "--lease", key!.leaseId], { address: t.address }).done;
    expect([stale.code, stale.stderr]).toEqual([4, expect.stringMatching(/lease ended/)]);
    const missing = await startCli(["renew", key!.key], { address: t.address }).done;
    expect(missing.code).toBe(2);
  });
});
