import { once } from "node:events";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { createKeyPoolClient, KeyPoolClientError } from "../../src/index.js";
import type { KeyPoolClient, LostReason } from "../../src/index.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import { seededRandom } from "../../src/random.js";
import { startTestServer, TEST_TTLS } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";
import { keepOpen } from "./support/keep-open.js";
import { ManualScheduler } from "./support/manual-scheduler.js";
import { eventually } from "../support/eventually.js";

const TTL = TEST_TTLS.keepaliveTtlMs;
const INTERVAL = TTL / 3;

let t: TestServer;
let scheduler: ManualScheduler;
let client: KeyPoolClient;
const cleanup: (() => Promise<void> | void)[] = [];
beforeEach(async () => {
  t = await startTestServer();
  scheduler = new ManualScheduler(t.clock);
  client = createKeyPoolClient(t.address, { scheduler, random: () => 1 });
});
afterEach(async () => {
  client.close();
  await t.close();
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Advances client and server time by `ms` and waits for `hold`'s next renewal. */
async function tick(hold: { once(e: "renewed", l: () => void): unknown }, ms = INTERVAL): Promise<void> {
  const renewed = new Promise<void>((resolve) => hold.once("renewed", resolve));
  scheduler.advance(ms);
  await renewed;
}

describe("client.hold(key)", () => {
  it("keeps a key alive across many TTLs, sending every third of the TTL", async () => {
    const [k] = await client.generateKeys(1);
    const hold = client.hold(k!.key);
    const [first] = (await once(hold, "renewed")) as [number];
    expect(first).toBe(t.clock.now() + TTL);
    for (let i = 0; i < 30; i++) await tick(hold); // 10 TTLs
    expect((await client.getKey(k!.key)).expiresAt).toBe(t.clock.now() + TTL);
    expect(hold.active).toBe(true);
  });

  it("shares ONE KeepAlive stream between every held key, and closes it when none is left", async () => {
    const keys = await client.generateKeys(3);
    const holds = keys.map((k) => client.hold(k.key));
    await Promise.all(holds.map((h) => once(h, "renewed")));
    expect(t.server.streams.size).toBe(1);
    for (const h of holds) h.stop();
    await eventually(() => t.server.streams.size === 0, "the stream to close");
    expect(scheduler.pending).toBe(0);
  });

  it("splits its messages further when the server's --max-keepalive-keys is below 1000: every hold kept, none lost", async () => {
    const small = await startTestServer({ server: { limits: { maxKeepAliveKeys: 10 } } });
    cleanup.push(() => small.close());
    const s = new ManualScheduler(small.clock);
    const c = createKeyPoolClient(small.address, { scheduler: s, random: () => 1 });
    cleanup.push(() => c.close());
    const heard: string[] = [];
    c.on("lost", (_key, reason) => heard.push(reason));
    c.on("disconnected", (err) => heard.push(err.code));
    const holds = (await c.generateKeys(25)).map((k) => c.hold(k.key));
    await Promise.all(holds.map((h) => once(h, "renewed")));
    for (let i = 0; i < 6; i++) {
      const renewed = Promise.all(holds.map((h) => once(h, "renewed")));
      s.advance(INTERVAL);
      await renewed;
    }
    expect(holds.every((h) => h.active)).toBe(true);
    expect(heard).toEqual([]);
    expect((await c.getKey(holds[24]!.key)).expiresAt).toBe(small.clock.now() + TTL);
  });

  it("emits lost (not-found) when the server no longer holds the key, and aborts the signal", async () => {
    const [k] = await client.generateKeys(1);
    const hold = client.hold(k!.key);
    await once(hold, "renewed");
    const clientLost = once(client, "lost");
    await client.deleteKey(k!.key);
    const lost = once(hold, "lost");
    scheduler.advance(INTERVAL);
    expect(await lost).toEqual(["not-found"]);
    expect(await clientLost).toEqual([k!.key, "not-found", ""]); // the pool as the hold was given it
    expect(hold.signal.aborted).toBe(true);
    expect(hold.signal.reason).toBeInstanceOf(KeyPoolClientError);
    expect((hold.signal.reason as Error).message).not.toContain(k!.key);
  });

  it("emits lost (stream-down) when the stream stays down for a whole TTL", async () => {
    const [k] = await client.generateKeys(1);
    const hold = client.hold(k!.key);
    await once(hold, "renewed");
    const down = once(client, "disconnected");
    await t.server.shutdown();
    const [error] = (await down) as [KeyPoolClientError];
    expect(error.code).toBe("UNAVAILABLE");
    const reasons: LostReason[] = [];
    hold.on("lost", (reason) => reasons.push(reason));
    scheduler.advance(TTL - 1);
    expect(reasons).toEqual([]);
    scheduler.advance(1);
    expect(reasons).toEqual(["stream-down"]);
  });

  it("reconnects with backoff after the server restarts on the same port, and keeps going", async () => {
    const clock = new ManualClock();
    const store = EmbeddedStore.memory({ ...TEST_TTLS, maxKeys: 1_000, scheduler: new ManualScheduler(clock), random: seededRandom(3) });
    cleanup.push(() => store.close());
    const first = await startTestServer({ clock, store: keepOpen(store) });
    const restartScheduler = new ManualScheduler(clock);
    const c = createKeyPoolClient(first.address, { scheduler: restartScheduler, random: () => 1 });
    cleanup.push(() => c.close());
    const [k] = await c.generateKeys(1);
    const hold = c.hold(k!.key);
    await once(hold, "renewed");
    const down = once(c, "disconnected");
    await first.close();
    await down;
    const second = await startTestServer({ clock, store: keepOpen(store), server: { port: first.server.port } });
    cleanup.push(() => second.close());
    const up = once(c, "connected");
    const renewed = once(hold, "renewed");
    restartScheduler.advance(100); // the first reconnect backoff (random 1: the whole 100 ms)
    await up;
    expect((await renewed)[0]).toBe(clock.now() + TTL);
    for (let i = 0; i < 9; i++) {
      const next = once(hold, "renewed");
      restartScheduler.advance(INTERVAL);
      await next;
    }
    expect((await c.getKey(k!.key)).expiresAt).toBe(clock.now() + TTL);
    expect(second.server.streams.size).toBe(1);
  });

  it("release() stops the hold and releases under the acquired lease", async () => {
    await client.generateKeys(1);
    const leased = await client.acquireKey();
    const hold = client.hold(leased);
    await once(hold, "renewed");
    expect(hold.leaseId).toBe(leased.leaseId);
    const released = await hold.release();
    expect(released?.state).toBe("free");
    expect(hold.active).toBe(false);
    expect(hold.signal.aborted).toBe(true);
  });

  it("refuses a malformed key and a key held already, without echoing the key", async () => {
    const [k] = await client.generateKeys(1);
    expect(() => client.hold("kp_tiny")).toThrow(/keys\[0\] is malformed/);
    client.hold(k!.key);
    expect(() => client.hold(k!.key)).toThrow(/is held already/);
    try {
      client.hold(k!.key);
    } catch (err) {
      expect((err as Error).message).not.toContain(k!.key);
    }
  });

  it("close() stops every hold without lost events", async () => {
    const [k] = await client.generateKeys(1);
    const hold = client.hold(k!.key);
    await once(hold, "renewed");
    const reasons: LostReason[] = [];
    hold.on("lost", (r) => reasons.push(r));
    client.close();
    scheduler.advance(TTL * 2);
    expect(reasons).toEqual([]);
    expect(scheduler.pending).toBe(0);
    await eventually(() => t.server.streams.size === 0, "the stream to close");
  });
});
