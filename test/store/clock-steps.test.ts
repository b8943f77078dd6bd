import { describe, expect, it } from "vitest";
import { ManualClock, steadyClock } from "../../src/clock.js";
import { seededRandom } from "../../src/random.js";
import { ManualScheduler } from "../../src/scheduler.js";
import type { Scheduler } from "../../src/scheduler.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import { DataDirFixture, makeTempDir } from "../support/durable-dirs.js";

/**
 * Issue 15.2: running deadlines follow a monotonic clock. The store's time is `steadyClock` over
 * a wall clock the test steps (as NTP or libfaketime would) and a monotonic one it advances;
 * the timers are a ManualScheduler on the monotonic time, as Node's timers are.
 */
function steppedTime() {
  let wall = 1_700_000_000_000;
  const monotonic = new ManualClock(5_000);
  const timers = new ManualScheduler(monotonic);
  const clock = steadyClock({ wall: () => wall, monotonic: () => monotonic.now() });
  const scheduler: Scheduler = {
    now: () => clock.now(),
    setTimeout: (callback, ms) => timers.setTimeout(callback, ms),
    clearTimeout: (handle) => timers.clearTimeout(handle),
  };
  return {
    scheduler,
    /** Real time passes: both clocks move, timers fire. */
    elapse: (ms: number) => {
      wall += ms;
      timers.advance(ms);
    },
    /** The wall clock alone jumps. */
    stepWall: (ms: number) => {
      wall += ms;
    },
  };
}

const TTLS = { blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: 200 };

describe.each(["memory", "durable"])("a wall-clock step on the %s store", (kind) => {
  async function open(scheduler: Scheduler): Promise<{ store: EmbeddedStore; dispose(): Promise<void> }> {
    if (kind === "memory") {
      const store = EmbeddedStore.memory({ ...TTLS, scheduler, random: seededRandom(9) });
      return { store, dispose: () => store.close() };
    }
    const fixture = new DataDirFixture(await makeTempDir("clock-steps"));
    const store = await EmbeddedStore.open({ ...TTLS, dataDir: fixture.dir, scheduler, random: seededRandom(9) });
    return { store, dispose: async () => (await store.close(), await fixture.dispose()) };
  }

  it("+2 min three seconds into twenty 60 s leases hands none of them to a second holder", async () => {
    const time = steppedTime();
    const { store, dispose } = await open(time.scheduler);
    try {
      await store.generate(20);
      const leases = await Promise.all(Array.from({ length: 20 }, () => store.acquire()));
      time.elapse(3_000);
      time.stepWall(120_000);
      time.elapse(1_000);
      await expect(store.acquire()).rejects.toMatchObject({ code: "not-found" });
      for (const lease of leases) expect(await store.get(lease.key)).toMatchObject({ state: "blocked", leaseId: lease.leaseId });
      time.elapse(56_000); // 60 s of elapsed time since the acquires: the blocks end, not before
      expect(await store.get(leases[0]!.key)).toMatchObject({ state: "free" });
    } finally {
      await dispose();
    }
  });

  it("+10 min does not kill 100 keys kept alive every second", async () => {
    const time = steppedTime();
    const { store, dispose } = await open(time.scheduler);
    try {
      const keys = (await store.generate(100)).map((k) => k.key);
      for (let s = 0; s < 10; s++) {
        if (s === 3) time.stepWall(600_000);
        time.elapse(1_000);
        const results = await store.keepAliveMany(keys);
        expect(results.every((r) => r.found)).toBe(true);
      }
      expect(await store.stats()).toMatchObject({ total: 100 });
    } finally {
      await dispose();
    }
  });
});

describe("steadyClock", () => {
  it("starts at the wall time and then moves only with the monotonic clock", () => {
    let wall = 1_000_000;
    let mono = 42;
    const clock = steadyClock({ wall: () => wall, monotonic: () => mono });
    expect(clock.now()).toBe(1_000_000);
    wall += 3_600_000;
    mono += 250;
    expect(clock.now()).toBe(1_000_250);
    mono += 0.75; // performance.now has sub-millisecond resolution; timestamps stay whole ms
    expect(clock.now()).toBe(1_000_250);
  });
});
