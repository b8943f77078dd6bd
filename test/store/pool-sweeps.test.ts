import { describe, expect, it } from "vitest";
import { seededRandom } from "../../src/random.js";
import { PoolSweeps } from "../../src/store/pool-sweeps.js";
import type { Sweepable } from "../../src/store/sweeper.js";

/** A pool reduced to its pending deadlines: one unit of sweep work ends one due deadline. */
class FakePool implements Sweepable {
  readonly deadlines: number[] = [];

  sweep(now: number, budget: number): number {
    this.deadlines.sort((a, b) => a - b);
    let done = 0;
    while (done < budget && this.deadlines.length > 0 && this.deadlines[0]! <= now) {
      this.deadlines.shift();
      done++;
    }
    return done;
  }

  nextDeadline(): number | undefined {
    return this.deadlines.length === 0 ? undefined : Math.min(...this.deadlines);
  }
}

describe("PoolSweeps", () => {
  it.each([1, 2, 3])("agrees with a naive scan of every pool over 5,000 seeded changes and sweeps (seed %i)", (seed) => {
    const random = seededRandom(seed);
    const sweeps = new PoolSweeps();
    const pools: FakePool[] = [];
    const ids: number[] = [];
    const swept = new Map<number, number>();
    let now = 0;
    for (let step = 0; step < 5_000; step++) {
      const op = random.int(10);
      if (op === 0 && pools.length < 40) {
        const pool = new FakePool();
        const i = pools.length;
        pools.push(pool);
        ids.push(sweeps.add(pool, (done) => swept.set(i, (swept.get(i) ?? 0) + done)));
      } else if (op < 6 && pools.length > 0) {
        // A change to one pool: a new deadline (reported, as every store change is), or one
        // dropped, with a report (as a release: a later deadline leaves the entry early) or
        // without (as a delete): either way the entry goes stale, never late.
        const i = random.int(pools.length);
        const pool = pools[i]!;
        if (random.int(3) > 0 || pool.deadlines.length === 0) {
          pool.deadlines.push(now + random.int(500));
          sweeps.report(ids[i]!);
        } else {
          pool.deadlines.splice(random.int(pool.deadlines.length), 1);
          if (random.int(2) === 0) sweeps.report(ids[i]!);
        }
      } else {
        now += random.int(200);
        const before = pools.map((p) => p.deadlines.filter((d) => d <= now).length);
        const budget = 1 + random.int(30);
        swept.clear();
        const done = sweeps.sweep(now, budget);
        const due = before.reduce((a, b) => a + b, 0);
        expect(done, `step ${step}`).toBe(Math.min(budget, due));
        for (const [i, n] of swept) expect(n, `step ${step}: pool ${i} told of its own work`).toBeLessThanOrEqual(before[i]!);
        // Once every due deadline is done, no entry at or before now is left, stale or not.
        if (budget > due) expect(sweeps.nextDeadline() ?? Infinity, `step ${step}`).toBeGreaterThan(now);
      }
      const naive = Math.min(...pools.map((p) => p.nextDeadline() ?? Infinity));
      // A stale entry is earlier than the pool's deadline, never later: the sweeper never sleeps past work.
      expect(sweeps.nextDeadline() ?? Infinity, `step ${step}`).toBeLessThanOrEqual(naive);
    }
  });

  it("a reported later deadline costs the sweeper one empty visit, then it sleeps until the real one", () => {
    const sweeps = new PoolSweeps();
    const pool = new FakePool();
    const swept: number[] = [];
    sweeps.add(pool, (done) => swept.push(done));
    pool.deadlines.push(100);
    sweeps.report(0);
    expect(sweeps.nextDeadline()).toBe(100);
    pool.deadlines.splice(0, 1, 500);
    sweeps.report(0);
    expect(sweeps.nextDeadline()).toBeLessThanOrEqual(500);
    expect(sweeps.sweep(100, 10)).toBe(0);
    expect(sweeps.nextDeadline()).toBe(500);
    expect(sweeps.sweep(500, 10)).toBe(1);
    expect(swept).toEqual([1]);
    expect(sweeps.nextDeadline()).toBeUndefined();
  });
});
