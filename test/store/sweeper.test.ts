import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { seededRandom } from "../../src/random.js";
import { ManualScheduler } from "../../src/scheduler.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";

function storeOn(scheduler: ManualScheduler, ttls: { blockTtlMs: number; keepaliveTtlMs: number; maxKeys: number }): EmbeddedStore {
  return EmbeddedStore.memory({ ...ttls, scheduler, random: seededRandom(1) });
}

describe("background sweeper", () => {
  it("reclaims 100,000 keys that die at the same instant in many small slices, by itself", async () => {
    const scheduler = new ManualScheduler(new ManualClock());
    const store = storeOn(scheduler, { blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: 200_000 });
    try {
      for (let i = 0; i < 100; i++) await store.generate(1000);
      let slices = 0;
      const runSlice = store.sweeper.runSlice.bind(store.sweeper);
      store.sweeper.runSlice = () => {
        slices++;
        return runSlice();
      };
      scheduler.advance(299_999);
      expect(slices).toBe(0); // one timer, armed for the first deadline: nothing runs before it
      scheduler.advance(1); // the deadline, and every 0 ms yield between slices after it
      expect(store.pool.size).toBe(0);
      expect(store.pool.counters.expired).toBe(100_000);
      // Each slice stops after ~2 ms, so a storm is spread over many turns of the event loop.
      expect(slices).toBeGreaterThan(1);
      expect(scheduler.pending).toBe(0);
    } finally {
      await store.close();
    }
  });

  it("needs no start call: the first deadline arms the timer, and freed keys are announced", async () => {
    const scheduler = new ManualScheduler(new ManualClock());
    const store = storeOn(scheduler, { blockTtlMs: 1, keepaliveTtlMs: 5, maxKeys: 10 });
    try {
      let announced = 0;
      store.onKeysFreed(() => announced++);
      await store.generate(3);
      await store.acquire();
      announced = 0;
      scheduler.advance(1); // the block ends: waiters hear of the key
      expect(announced).toBe(1);
      scheduler.advance(4);
      expect(store.pool.size).toBe(0);
    } finally {
      await store.close();
    }
  });

  it("stops all timers on close", async () => {
    const scheduler = new ManualScheduler(new ManualClock());
    const store = storeOn(scheduler, { blockTtlMs: 1, keepaliveTtlMs: 5, maxKeys: 10 });
    await store.generate(3);
    await store.close();
    expect(scheduler.pending).toBe(0);
  });
});
