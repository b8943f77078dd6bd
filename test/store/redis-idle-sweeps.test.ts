import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { seededRandom } from "../../src/random.js";
import { ManualScheduler } from "../../src/scheduler.js";
import { RedisPools } from "../../src/store/redis-pools.js";
import type { RedisPoolsOptions } from "../../src/store/redis-pools.js";
import { shardKeys } from "../../src/store/redis/shard-keys.js";
import { RedisServer, hasRedisServer } from "../support/redis-server.js";

const SKIP_REASON = "redis-server not on PATH: install the Debian package redis-server";
const SETTINGS = { blockTtlMs: 1_000, keepaliveTtlMs: 2_000, maxKeys: 100 };
const POOLS = 200;
/** Idle sweep scripts per second: 201 shards (the home pool too) / 20 per s gives P = 10.05 s. */
const IDLE_RATE = 20;
const P = Math.ceil((POOLS + 1) / IDLE_RATE) * 1_000;

if (!hasRedisServer()) {
  console.warn(`\n!!! ${SKIP_REASON}. EVERY Redis idle-sweep test is SKIPPED. CI installs it and never skips. !!!\n`);
  test.skip(SKIP_REASON, () => {});
} else {
  let server: RedisServer;
  let admin: Redis;
  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.dispose();
  });

  /** Sweep scripts (and every other EVALSHA) Redis has run since it started. */
  async function scriptsRun(): Promise<number> {
    const info = await admin.info("commandstats");
    return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0);
  }

  /** Keys pool `pool` holds in Redis, dead ones not yet reclaimed included. */
  function held(pool: string): Promise<number> {
    return admin.zcard(shardKeys(pool)[3]!);
  }

  describe("Redis pools: the background sweep of idle pools", () => {
    test("200 idle pools cost at most 20 sweep scripts a second, and dead keys are still reclaimed in time in every pool", async () => {
      const clock = new ManualClock(1_000_000);
      const scheduler = new ManualScheduler(clock);
      const options: RedisPoolsOptions = {
        endpoint: { kind: "node", url: server.url }, defaultPool: "home", maxPools: POOLS + 1, shards: 1, ...SETTINGS,
        clock, scheduler, random: seededRandom(7), sweepIntervalMs: 1_000, idleSweepRate: IDLE_RATE,
      };
      const a = await RedisPools.open(options);
      // Another server on the same pools that never sweeps: what it makes, `a` cannot know of.
      const b = await RedisPools.open({ ...options, sweepIntervalMs: 0 });
      const start = clock.now();
      /** Moves time on to `start + ms` in 10 ms steps, letting every sweep of each step reach Redis. */
      const until = async (ms: number): Promise<void> => {
        while (clock.now() < start + ms) {
          scheduler.advance(Math.min(10, start + ms - clock.now()));
          await a.sweeper!.settled();
        }
      };
      const names = Array.from({ length: POOLS }, (_, i) => `p${i}`);
      try {
        for (const name of names) await a.pool(name, true).generate(5);
        const total = async (): Promise<number> => (await Promise.all(names.map(held))).reduce((x, y) => x + y, 0);

        // Deadlines `a` made: each is visited within the interval, learns them, and reclaims them at their instant.
        await until(1_990);
        expect(await total()).toBe(POOLS * 5);
        await until(2_010);
        expect(await total()).toBe(0);
        expect(names.reduce((n, name) => n + a.pool(name, false).counters().expired, 0)).toBe(POOLS * 5);

        // Idle: 20 s with nothing due. The old sweeper (one per pool, every second) ran 201 x 20 = 4,020 scripts.
        await until(5_000);
        const before = await scriptsRun();
        await until(15_000);
        // A metrics scrape reads every pool: one stats script each, and no sweep follows (reads make no deadline).
        for (const name of names) await a.pool(name, false).stats();
        await until(25_000);
        const idle = (await scriptsRun()) - before - POOLS;
        expect(idle).toBeLessThanOrEqual(IDLE_RATE * 20 + 1);
        expect(idle).toBeGreaterThanOrEqual(IDLE_RATE * 20 * 0.9);
        // ...and an idle sweep writes nothing, so adds no AOF or replication traffic: every pool's
        // clock stayed at the scrape's instant through 10 s of sweeps.
        for (const name of names) expect(Number(await admin.get(shardKeys(name)[6]!))).toBe(start + 15_000);

        // Keys made through `b` in every pool, dying 2 s later: `a` finds them on the ring's turns
        // and reclaims every one within 2 P of dying, having no deadline of its own there.
        for (const name of names) await b.pool(name, true).generate(3);
        const died = clock.now() + SETTINGS.keepaliveTtlMs;
        await until(died - start + 2 * P);
        expect(await total()).toBe(0);
        for (const name of names) expect(a.pool(name, false).counters().expired).toBe(5 + 3);
        expect(names.reduce((n, name) => n + b.pool(name, false).counters().expired, 0)).toBe(0);
      } finally {
        await b.close();
        await a.close();
        await admin.flushall();
      }
      expect(scheduler.pending).toBe(0); // close stopped every timer
    });
  });
}
