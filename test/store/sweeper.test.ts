import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { seededRandom } from "../../src/random.js";
import { MemoryStore } from "../../src/store/memory-store.js";

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setImmediate(r));
}

describe("background sweeper", () => {
  it("reclaims 100,000 keys that die at the same instant in many small slices, by itself", async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: 200_000, clock, random: seededRandom(1) });
    try {
      for (let i = 0; i < 100; i++) await store.generate(1000);
      clock.advance(300_000);
      let slices = 0;
      const runSlice = store.sweeper.runSlice.bind(store.sweeper);
      store.sweeper.runSlice = () => {
        slices++;
        return runSlice();
      };
      store.sweeper.poke();
      await until(() => store.pool.size === 0);
      expect(store.pool.size).toBe(0);
      expect(store.pool.counters.expired).toBe(100_000);
      // Each slice stops after ~2 ms, so a storm is spread over many turns of the event loop.
      expect(slices).toBeGreaterThan(1);
    } finally {
      await store.close();
    }
  });

  it("needs no start call: the first deadline arms the timer", async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ blockTtlMs: 1, keepaliveTtlMs: 5, maxKeys: 10, clock, random: seededRandom(1) });
    try {
      await store.generate(3);
      await store.acquire();
      clock.advance(5);
      await new Promise((r) => setTimeout(r, 20)); // the real timer, due at once on the manual clock
      await until(() => store.pool.size === 0);
      expect(store.pool.size).toBe(0);
    } finally {
      await store.close();
    }
  });
});
