import { once } from "node:events";
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { createKeyPoolClient, KeyPoolClientError } from "../../src/index.js";
import type { KeepAliveHold, KeyPoolClient, LeaseHold, LostReason } from "../../src/index.js";
import { seededRandom } from "../../src/random.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";
import { ManualScheduler } from "./support/manual-scheduler.js";

const BLOCK = 60_000;
const LIFE = 300_000;
const MAX_LEASE = 10 * BLOCK;
const INTERVAL = BLOCK / 3;

let t: TestServer;
let scheduler: ManualScheduler;
let client: KeyPoolClient;
let other: KeyPoolClient;
beforeEach(async () => {
  const clock = new ManualClock();
  const serverScheduler = new ManualScheduler(clock);
  const store = EmbeddedStore.memory({ blockTtlMs: BLOCK, keepaliveTtlMs: LIFE, maxKeys: 100, maxLeaseMs: MAX_LEASE, scheduler: serverScheduler, random: seededRandom(5) });
  t = await startTestServer({ scheduler: serverScheduler, store });
  scheduler = new ManualScheduler(clock);
  client = createKeyPoolClient(t.address, { scheduler, random: () => 1 });
  other = createKeyPoolClient(t.address);
});
afterEach(async () => {
  client.close();
  other.close();
  await t.close();
});

/** Advances client and server time by `ms` and waits for the renewal the hold then sends. */
async function tick(hold: LeaseHold, ms = INTERVAL): Promise<void> {
  const renewed = once(hold, "renewed");
  scheduler.advance(ms);
  await renewed;
}

async function acquiredHold(): Promise<LeaseHold> {
  await client.generateKeys(1);
  const hold = client.hold(await client.acquireKey());
  await once(hold, "renewed"); // the first renewal goes out at once
  return hold;
}

describe("client.hold(acquiredKey): the lease and the life", () => {
  it("holds the lease for many block TTLs, renewing every third of the block TTL; nobody else can acquire it", async () => {
    const hold = await acquiredHold();
    for (let i = 0; i < 24; i++) {
      await tick(hold); // 8 block TTLs in all (the max lease is 10)
      await expect(other.acquireKey()).rejects.toMatchObject({ code: "NOT_FOUND" });
    }
    expect(hold.active).toBe(true);
    const now = t.clock.now();
    expect(await client.getKey(hold.key)).toMatchObject({
      state: "blocked", leaseId: hold.leaseId, blockedUntil: now + BLOCK, expiresAt: now + LIFE, fencingToken: hold.fencingToken,
    });
    expect(hold.blockedUntil).toBe(now + BLOCK);
    expect(client.holdIntervalMs).toBe(INTERVAL);
  });

  it("gives the lease up BEFORE the server could end it when renewals stop being confirmed", async () => {
    const hold = await acquiredHold();
    await tick(hold);
    const serverDeadline = hold.blockedUntil; // the block the server last confirmed
    const lost: [LostReason, number][] = [];
    hold.on("lost", (reason) => lost.push([reason, t.clock.now()]));
    await t.server.shutdown(); // nothing is confirmed any more
    scheduler.advance(BLOCK);
    expect(lost).toHaveLength(1);
    expect(lost[0]![0]).toBe("stream-down");
    expect(lost[0]![1]).toBeLessThan(serverDeadline);
    expect(hold.signal.aborted).toBe(true);
    expect(hold.signal.reason).toBeInstanceOf(KeyPoolClientError);
  });

  it("turns inactive at its deadline when read, even if the timer that would end it has not run yet", async () => {
    const hold = await acquiredHold();
    await t.server.shutdown();
    t.clock.advance(BLOCK); // time passes, but no timer fires
    const reasons: LostReason[] = [];
    hold.on("lost", (reason) => reasons.push(reason));
    expect(hold.active).toBe(false);
    expect(reasons).toEqual(["stream-down"]);
    expect(hold.signal.aborted).toBe(true);
  });

  it("ends at once when a renewal is refused, with the server's reason", async () => {
    const refusals: [string, (h: LeaseHold) => Promise<unknown>][] = [
      ["not-found", (h) => other.deleteKey(h.key)],
      ["lease-ended", (h) => other.releaseKey(h.key, { unfenced: true })],
    ];
    for (const [reason, refuse] of refusals) {
      const hold = await acquiredHold();
      await refuse(hold);
      const lost = once(hold, "lost");
      scheduler.advance(INTERVAL);
      expect(await lost).toEqual([reason]);
      expect(await hold.release()).toBeUndefined(); // no lease left: no call
      await client.generateKeys(1).catch(() => {});
    }
  });

  it("ends with max-lease when the server's --max-lease is reached, and release() still frees the key", async () => {
    const hold = await acquiredHold();
    const reasons: LostReason[] = [];
    hold.on("lost", (reason) => reasons.push(reason));
    for (let i = 0; i < 3 * (MAX_LEASE / BLOCK) && reasons.length === 0; i++) {
      const next = Promise.race([once(hold, "renewed"), once(hold, "lost")]);
      scheduler.advance(INTERVAL);
      await next;
    }
    expect(reasons).toEqual(["max-lease"]);
    expect((await hold.release())?.state).toBe("free");
  });

  it("release() stops renewing and releases under the lease", async () => {
    const hold = await acquiredHold();
    const released = await hold.release();
    expect(released?.state).toBe("free");
    expect(hold.active).toBe(false);
    expect(scheduler.pending).toBe(0);
  });

  it("a key held by its string beside a lease, while the keepalive TTL is unknown, is lost a TTL after its last keepalive", async () => {
    const lease = await acquiredHold(); // opened the stream without asking the keepalive TTL
    const [k] = await client.generateKeys(1);
    const alive = client.hold(k!.key);
    await once(alive, "renewed"); // sent over the open stream at once
    const confirmedAt = t.clock.now();
    const lost: [string, LostReason, number][] = [];
    for (const [name, hold] of [["lease", lease], ["alive", alive]] as const) hold.on("lost", (r) => lost.push([name, r, t.clock.now() - confirmedAt]));
    await t.server.shutdown(); // nothing is confirmed any more, nor can the TTL be asked
    scheduler.advance(LIFE);
    expect(lost).toEqual([["lease", "stream-down", BLOCK - BLOCK / 20], ["alive", "stream-down", LIFE]]);
    expect(alive.active).toBe(false);
  });

  it("refuses a copy of the acquired key (its send time is unknown) and a key held already", async () => {
    await client.generateKeys(2);
    const leased = await client.acquireKey();
    expect(() => client.hold({ ...leased })).toThrow(/very object/);
    client.hold(leased);
    expect(() => client.hold(leased)).toThrow(/is held already/);
  });
});

describe("hold types", () => {
  it("a key string gives a keepalive-only hold without release(); lost takes one argument", () => {
    expectTypeOf(client.hold("kp_" + "A".repeat(24))).toEqualTypeOf<KeepAliveHold>();
    expectTypeOf<KeepAliveHold>().not.toHaveProperty("release");
    expectTypeOf<LeaseHold>().toHaveProperty("release");
    expectTypeOf<Parameters<KeepAliveHold["on"]>>().toEqualTypeOf<Parameters<KeepAliveHold["on"]>>();
    // @ts-expect-error a free PoolKey from generateKeys carries no lease
    const free = (k: Awaited<ReturnType<KeyPoolClient["generateKeys"]>>[number]) => client.hold(k);
    expect(free).toBeTypeOf("function");
    const hold = client.hold("kp_" + "B".repeat(24));
    // @ts-expect-error lost's listener takes (reason), not (key, reason)
    hold.on("lost", (_key: string, _reason: LostReason) => {});
    hold.on("lost", (reason: LostReason) => void reason);
    hold.stop();
  });
});
