import { describe, expect, it } from "vitest";
import { Float64Column } from "../../src/pool/columns.js";
import { CooldownHeap } from "../../src/pool/cooldown-heap.js";
import { seededRandom } from "../../src/random.js";

const SLOTS = 300;

describe("CooldownHeap", () => {
  it.each([1, 2, 3])("agrees with a naive list over 20,000 seeded pushes, removes and deadline moves (seed %i)", (seed) => {
    const random = seededRandom(seed);
    const until = new Float64Column();
    until.reserve(SLOTS);
    const heap = new CooldownHeap(until);
    heap.reserve(SLOTS);
    const model = new Map<number, number>();
    for (let step = 0; step < 20_000; step++) {
      const slot = random.int(SLOTS);
      const op = random.int(10);
      // Few distinct deadlines, so ties are common.
      const deadline = random.int(op < 5 ? 50 : 5_000);
      if (!model.has(slot) && op < 6) {
        until.set(slot, deadline);
        heap.push(slot);
        model.set(slot, deadline);
      } else if (model.has(slot) && op < 8) {
        heap.remove(slot);
        model.delete(slot);
      } else if (model.has(slot)) {
        until.set(slot, deadline);
        heap.update(slot);
        model.set(slot, deadline);
      }
      expect(heap.size, `step ${step}`).toBe(model.size);
      const min = Math.min(...model.values());
      if (model.size === 0) expect(heap.top).toBe(-1);
      else expect(model.get(heap.top), `step ${step}: the top holds the earliest deadline`).toBe(min);
      expect(heap.has(slot), `step ${step}`).toBe(model.has(slot));
    }
    // Draining by the top yields every deadline in order.
    const drained: number[] = [];
    for (let top = heap.top; top !== -1; top = heap.top) {
      drained.push(until.get(top));
      heap.remove(top);
    }
    expect(drained).toEqual([...model.values()].sort((a, b) => a - b));
  });
});
