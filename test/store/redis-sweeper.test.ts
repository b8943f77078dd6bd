import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { seededRandom } from "../../src/random.js";
import { ManualScheduler } from "../../src/scheduler.js";
import { RedisSweeper, SWEEP_BUDGET } from "../../src/store/redis/redis-sweeper.js";
import type { SweepStep } from "../../src/store/redis/redis-sweeper.js";

/**
 * A shard reduced to its pending deadlines, on the scheduler's clock: a step ends up to `budget`
 * due ones and names the earliest left, as the sweep script does. Records when each step ran.
 */
class FakeShard {
  readonly deadlines: number[] = [];
  readonly steps: number[] = [];
  /** When each deadline was ended, by deadline. */
  readonly ended: { deadline: number; at: number }[] = [];
  failing = false;
  /** Steps that began while another step of this shard was in flight (the sweeper must never). */
  overlaps = 0;
  private active = 0;

  constructor(private readonly scheduler: ManualScheduler) {}

  readonly step = async (budget: number): Promise<SweepStep> => {
    const now = this.scheduler.now();
    this.steps.push(now);
    if (this.active++ > 0) this.overlaps++;
    // A round trip's worth of turns, so another step started meanwhile would overlap it.
    for (let i = 0; i < 3; i++) await Promise.resolve();
    this.active--;
    if (this.failing) throw new Error("redis is unreachable");
    this.deadlines.sort((a, b) => a - b);
    let work = 0;
    while (work < budget && this.deadlines.length > 0 && this.deadlines[0]! <= now) {
      this.ended.push({ deadline: this.deadlines.shift()!, at: now });
      work++;
    }
    return { work, now, next: this.deadlines[0] ?? -1 };
  };
}

interface Rig {
  readonly scheduler: ManualScheduler;
  readonly sweeper: RedisSweeper;
  readonly shards: FakeShard[];
  readonly ids: number[];
  /** Moves time on by `ms`, letting every step of every visit run at its instant. */
  advance(ms: number): Promise<void>;
  /** Steps of all shards run in [from, to). */
  stepsBetween(from: number, to: number): number;
}

function rig(count: number, options: { intervalMs?: number; idleRate?: number; seed?: number } = {}): Rig {
  const scheduler = new ManualScheduler(new ManualClock(0));
  const sweeper = new RedisSweeper({
    intervalMs: options.intervalMs ?? 1_000, idleRate: options.idleRate ?? 100, scheduler, random: seededRandom(options.seed ?? 1),
  });
  const shards = Array.from({ length: count }, () => new FakeShard(scheduler));
  const ids = shards.map((s) => sweeper.add(s.step));
  return {
    scheduler, sweeper, shards, ids,
    advance: async (ms) => {
      await scheduler.advanceAsync(ms);
      await sweeper.settled();
    },
    stepsBetween: (from, to) => shards.reduce((n, s) => n + s.steps.filter((t) => t >= from && t < to).length, 0),
  };
}

/** The longest pause between two visits of `shard` in [from, to] (the window's ends count as visits). */
function longestGap(shard: FakeShard, from: number, to: number): number {
  const times = [from, ...shard.steps.filter((t) => t >= from && t <= to), to];
  return Math.max(...times.slice(1).map((t, i) => t - times[i]!));
}

/** The `count` shards whose latest visit was the most recent (the ring's last turns). */
function justVisited(r: Rig, count: number): number[] {
  const last = (i: number): number => r.shards[i]!.steps.at(-1) ?? -1;
  return r.shards.map((_, i) => i).sort((a, b) => last(b) - last(a)).slice(0, count);
}

describe("RedisSweeper: one sweeper for every shard of a server", () => {
  it("1,000 idle shards cost at most the idle rate (100 scripts/s), and each is still visited every 10 s", async () => {
    const r = rig(1_000);
    await r.advance(60_000);
    // The first second: every shard's jittered first visit. Then the ring alone: 100 per second.
    expect(r.stepsBetween(0, 1_000)).toBeGreaterThanOrEqual(1_000);
    const steady = r.stepsBetween(10_000, 60_000);
    expect(steady).toBeLessThanOrEqual(100 * 50);
    expect(steady).toBeGreaterThanOrEqual(100 * 50 - 1);
    // P = max(1 s, 1,000 shards / 100 per s) = 10 s; the documented bound is 2 P.
    for (const shard of r.shards) expect(longestGap(shard, 10_000, 60_000)).toBeLessThanOrEqual(20_000);
    await r.sweeper.close();
  });

  it("a few shards are each visited every interval, as one sweeper per shard did", async () => {
    const r = rig(5);
    await r.advance(20_000);
    for (const shard of r.shards) expect(longestGap(shard, 2_000, 20_000)).toBeLessThanOrEqual(1_000);
    expect(r.stepsBetween(2_000, 20_000)).toBeLessThanOrEqual(5 * 18 + 5);
    await r.sweeper.close();
  });

  it("settles a known deadline at its instant, however slow the ring is", async () => {
    const r = rig(1_000);
    await r.advance(10_000);
    const i = justVisited(r, 1)[0]!; // the ring comes back to it only ~10 s later
    const shard = r.shards[i]!;
    shard.deadlines.push(12_000, 13_500);
    r.sweeper.report(r.ids[i]!, 2_000); // a call of this server made the first; its visit learns the second
    await r.advance(10_000);
    expect(shard.ended).toEqual([{ deadline: 12_000, at: 12_000 }, { deadline: 13_500, at: 13_500 }]);
    await r.sweeper.close();
  });

  it("finds a deadline another server made (unreported) within 2 P, and settles a reported one at its instant", async () => {
    const r = rig(1_000);
    await r.advance(10_000);
    const [elsewhere, here] = justVisited(r, 2) as [number, number];
    r.shards[elsewhere]!.deadlines.push(10_500); // made elsewhere: this server learns of it on the ring's turn
    r.shards[here]!.deadlines.push(10_500);
    r.sweeper.report(r.ids[here]!, 500); // made by a call of this server
    await r.advance(30_000);
    const found = r.shards[elsewhere]!.ended[0]!.at;
    expect(found).toBeGreaterThan(15_000); // not before the ring's turn came back (P = 10 s)...
    expect(found).toBeLessThanOrEqual(10_000 + 20_000); // ...and within 2 P
    expect(r.shards[here]!.ended).toEqual([{ deadline: 10_500, at: 10_500 }]);
    await r.sweeper.close();
  });

  it("a pool in steady use costs a visit per deadline its calls make earlier, not one per call or per second", async () => {
    const r = rig(1_000);
    await r.advance(5_000);
    const i = justVisited(r, 1)[0]!;
    const shard = r.shards[i]!;
    const from = r.scheduler.now();
    // An acquire + release every 10 ms for a minute: each block (60 s TTL) is reported, then ended by its release.
    for (let t = 0; t < 60_000; t += 10) {
      shard.deadlines.push(r.scheduler.now() + 60_000);
      r.sweeper.report(r.ids[i]!, 60_000);
      shard.deadlines.pop();
      await r.advance(10);
    }
    // The ring's turns (one per 10 s), and the first block's deadline at most: 6,000 calls, under 10 visits.
    expect(shard.steps.filter((t) => t >= from).length).toBeLessThanOrEqual(8);
    await r.sweeper.close();
  });

  it("sweeps a backlog back to back in bounded steps without starving another shard's deadline", async () => {
    const r = rig(3);
    const big = r.shards[0]!;
    for (let i = 0; i < 100 * SWEEP_BUDGET; i++) big.deadlines.push(5_000);
    r.shards[1]!.deadlines.push(5_000);
    r.ids.forEach((id) => r.sweeper.report(id, 5_000));
    await r.advance(5_000);
    expect(big.deadlines).toHaveLength(0);
    // 100 full steps, then the one that finds it empty; all at the deadline's instant.
    expect(big.steps.filter((t) => t === 5_000)).toHaveLength(101);
    expect(r.shards[1]!.ended).toEqual([{ deadline: 5_000, at: 5_000 }]);
    expect(big.overlaps).toBe(0);
    await r.sweeper.close();
  });

  it("settles the deadlines of 500 shards due at one instant, a few at a time, at that instant", async () => {
    const r = rig(500);
    await r.advance(5_000);
    r.shards.forEach((s, i) => {
      s.deadlines.push(8_000);
      r.sweeper.report(r.ids[i]!, 3_000);
    });
    await r.advance(3_000);
    for (const shard of r.shards) expect(shard.ended).toEqual([{ deadline: 8_000, at: 8_000 }]);
    await r.sweeper.close();
  });

  it("a failing shard is retried by the ring, never in a loop", async () => {
    const r = rig(1_000);
    const shard = r.shards[3]!;
    shard.failing = true;
    r.sweeper.report(r.ids[3]!, 1_000);
    await r.advance(60_000);
    // Its jittered first visit, the reported deadline's, then one ring turn per 10 s.
    expect(shard.steps.length).toBeGreaterThanOrEqual(6);
    expect(shard.steps.length).toBeLessThanOrEqual(9);
    shard.failing = false;
    shard.deadlines.push(61_000);
    await r.advance(20_000);
    expect(shard.ended).toHaveLength(1);
    await r.sweeper.close();
  });

  it("close stops every timer and waits for the step in flight; a removed shard is never visited again", async () => {
    const r = rig(10);
    r.sweeper.remove(r.ids[2]!);
    await r.advance(5_000);
    expect(r.shards[2]!.steps.filter((t) => t > 0)).toHaveLength(0);
    let release: () => void = () => {};
    const slow = new FakeShard(r.scheduler);
    const id = r.sweeper.add(async (budget) => {
      await new Promise<void>((resolve) => (release = resolve));
      return slow.step(budget);
    });
    r.sweeper.report(id, 1_000);
    await r.scheduler.advanceAsync(1_000); // its visit starts and waits
    let closed = false;
    const closing = r.sweeper.close().then(() => (closed = true));
    expect(r.scheduler.pending).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    release();
    await closing;
    r.scheduler.advance(60_000);
    expect(r.stepsBetween(6_000, 70_000)).toBe(0);
  });

  it("jitters the first visits over the interval, differently per server", async () => {
    const a = rig(100, { seed: 1 });
    const b = rig(100, { seed: 2 });
    await Promise.all([a.advance(1_000), b.advance(1_000)]);
    const firsts = (r: Rig): number[] => r.shards.map((s) => s.steps[0]!);
    for (const r of [a, b]) {
      expect(Math.max(...firsts(r))).toBeLessThan(1_000);
      expect(new Set(firsts(r)).size).toBeGreaterThan(50);
    }
    expect(firsts(a)).not.toEqual(firsts(b));
    await Promise.all([a.sweeper.close(), b.sweeper.close()]);
  });

  it.each([1, 2, 3])("seeded: every deadline is settled within its bound, and idle cost stays under the rate (seed %i)", async (seed) => {
    const random = seededRandom(seed);
    const r = rig(300, { seed, idleRate: 50 });
    // P = 300 / 50 per s = 6 s; a deadline nobody here reported is found within 2 P of being made.
    const P = 6_000;
    const made: { shard: number; deadline: number; bound: number }[] = [];
    for (let round = 0; round < 300; round++) {
      const now = r.scheduler.now();
      const i = random.int(300);
      const deadline = now + random.int(20_000);
      r.shards[i]!.deadlines.push(deadline);
      const reported = random.int(2) === 0;
      if (reported) r.sweeper.report(r.ids[i]!, deadline - now);
      // A reported deadline at its instant (10 ms at the soonest), another within 2 P.
      made.push({ shard: i, deadline, bound: reported ? Math.max(deadline, now + 10) : Math.max(deadline, now + 2 * P) + 10 });
      await r.advance(random.int(400));
    }
    await r.advance(40_000);
    for (const { shard, deadline, bound } of made) {
      const end = r.shards[shard]!.ended.find((e) => e.deadline === deadline);
      expect(end, `deadline ${deadline} of shard ${shard}`).toBeDefined();
      expect(end!.at).toBeGreaterThanOrEqual(deadline);
      expect(end!.at, `deadline ${deadline} of shard ${shard}`).toBeLessThanOrEqual(bound);
    }
    expect(r.shards.reduce((n, sh) => n + sh.overlaps, 0)).toBe(0);
    // Quiet at the end: nothing due, so only the ring runs, 50 per second.
    const quietFrom = r.scheduler.now() - 10_000;
    expect(r.stepsBetween(quietFrom, r.scheduler.now())).toBeLessThanOrEqual(50 * 10 + 1);
    await r.sweeper.close();
    expect(r.scheduler.pending).toBe(0);
  });
});
