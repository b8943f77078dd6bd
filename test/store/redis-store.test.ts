import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { KeyPoolError } from "../../src/pool/index.js";
import { seededRandom } from "../../src/random.js";
import { POOL_KEY_NAMES } from "../../src/store/redis/pool-keys.js";
import { RedisPools } from "../../src/store/redis-pools.js";
import { RedisStore } from "../../src/store/redis-store.js";
import type { RedisStoreOptions } from "../../src/store/redis-store.js";
import { eventually } from "../support/eventually.js";
import { RedisServer, hasRedisServer } from "../support/redis-server.js";
import { describeStoreConformance } from "./conformance.js";

const SKIP_REASON = "redis-server not on PATH: install the Debian package redis-server";
const SETTINGS = { blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: 2_000 };

if (!hasRedisServer()) {
  console.warn(`\n!!! ${SKIP_REASON}. EVERY RedisStore test is SKIPPED. CI installs it and never skips. !!!\n`);
  test.skip(SKIP_REASON, () => {});
} else {
  let server: RedisServer;
  let admin: Redis;
  const opened: RedisStore[] = [];
  let pools = 0;

  /** A store on a fresh pool of the shared server (closed and wiped after each test). */
  async function open(options: Partial<RedisStoreOptions> = {}): Promise<RedisStore> {
    const store = await RedisStore.open({ url: server.url, pool: `t${++pools}`, ...SETTINGS, ...options });
    opened.push(store);
    return store;
  }

  /** Closes `store`, checks its pool's layout invariants (see lua-prelude.ts), and deletes the pool. */
  async function wipe(store: RedisStore): Promise<void> {
    await store.close();
    const key = (name: (typeof POOL_KEY_NAMES)[number]): string => store.keys[POOL_KEY_NAMES.indexOf(name)]!;
    const [at, pos, blocked, held, nCreated, nLeases, cooling, order] = await Promise.all([
      admin.hgetall(key("free-at")),
      admin.hgetall(key("free-pos")),
      admin.zrange(key("blocks"), 0, -1),
      admin.zrange(key("lives"), 0, -1),
      admin.hlen(key("created")),
      admin.hlen(key("leases")),
      admin.zrange(key("cooling"), 0, -1),
      admin.zrange(key("order"), 0, -1),
    ]);
    await admin.del(...store.keys);
    const free = Object.values(at);
    // The free array: positions 0 .. n-1, each naming a key whose position is that one.
    expect(Object.keys(at).map(Number).sort((x, y) => x - y)).toEqual(free.map((_, i) => i));
    expect(Object.fromEntries(Object.entries(at).map(([p, k]) => [k, p]))).toEqual(pos);
    // Every held key in exactly one of free, blocked and cooling, and in the listing's order.
    expect([...free, ...blocked, ...cooling].sort()).toEqual([...held].sort());
    expect([...order].sort()).toEqual([...held].sort());
    expect({ created: nCreated, leases: nLeases }).toEqual({ created: held.length, leases: blocked.length });
  }

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.url);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map(wipe));
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.dispose();
  });

  // A short sweep interval, so the background sweeper races the tests and must not change a result.
  /** The pool each conformance store serves, so a second store can join it. */
  const poolOf = new Map<object, string>();
  describeStoreConformance(
    "redis",
    async (settings) => {
      const pool = `c${++pools}`;
      const store = await RedisStore.open({ url: server.url, pool, ...settings, sweepIntervalMs: 20 });
      poolOf.set(store, pool);
      return { store, cleanup: () => wipe(store) };
    },
    {
      modelRuns: 60,
      capabilities: {
        // Its own redis-server, SIGKILLed by `fail`: an outage, not a shutdown.
        faulty: async (settings) => {
          const own = await RedisServer.start();
          const store = await RedisStore.open({ url: own.url, ...settings, commandTimeoutMs: 500, sweepIntervalMs: 0 });
          return { store, fail: () => own.stop(), cleanup: async () => (await store.close(), await own.dispose()) };
        },
        samePool: async (first, settings) => {
          const store = await RedisStore.open({ url: server.url, pool: poolOf.get(first)!, ...settings, sweepIntervalMs: 0 });
          return { store, cleanup: () => store.close() };
        },
        // A server's named pools in a database of their own, emptied after each test.
        poolSet: async (settings) => {
          const url = `${server.url}/7`;
          const pools = await RedisPools.open({ endpoint: { kind: "node", url }, shards: 1, defaultPool: "home", maxPools: 5, ...settings, sweepIntervalMs: 20 });
          return {
            pools,
            cleanup: async () => {
              await pools.close();
              const db = new Redis(url);
              await db.flushdb();
              db.disconnect();
            },
          };
        },
      },
    },
  );

  describe("RedisStore: two stores on one pool", () => {
    test("a key blocked through one is never handed out by the other, even under concurrent load", async () => {
      const clock = new ManualClock();
      const a = await open({ pool: "shared", clock });
      const b = await open({ pool: "shared", clock });
      await a.generate(30);
      const stores = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b));
      const outcomes = await Promise.allSettled(stores.map((s) => s.acquire()));
      const won = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value.key] : []));
      expect(new Set(won).size).toBe(30);
      expect(won).toHaveLength(30);
      for (const o of outcomes) if (o.status === "rejected") expect((o.reason as KeyPoolError).code).toBe("not-found");
      expect(await b.stats()).toMatchObject({ total: 30, free: 0, blocked: 30 });
    });

    test("fencing tokens of a key grow across both servers and never repeat; a renewal through either keeps it", async () => {
      const clock = new ManualClock();
      const a = await open({ pool: "shared", clock });
      const b = await open({ pool: "shared", clock });
      await a.generate(1);
      const tokens: number[] = [];
      for (let i = 0; i < 200; i++) {
        const [taker, other] = i % 3 === 0 ? [a, b] : [b, a];
        const got = await taker.acquire();
        tokens.push(got.fencingToken!);
        expect((await other.renew(got.key, got.leaseId!)).fencingToken).toBe(got.fencingToken);
        await other.release(got.key, got.leaseId);
      }
      expect(tokens).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    });

    test("release, keepalive and delete through one are seen by the other at once", async () => {
      const clock = new ManualClock();
      const a = await open({ pool: "shared", clock });
      const b = await open({ pool: "shared", clock });
      const [x, y] = await a.generate(2);
      await a.delete(y!.key);
      const got = await b.acquire();
      expect(got.key).toBe(x!.key);
      expect(await a.get(x!.key)).toEqual(got);
      await expect(a.release(x!.key, "AAAAAAAAAAAAAAAAAAAAAAAA")).rejects.toMatchObject({ code: "failed-precondition" });
      clock.advance(1_000);
      expect((await a.keepAlive(x!.key)).expiresAt).toBe(clock.now() + SETTINGS.keepaliveTtlMs);
      expect((await b.get(x!.key)).expiresAt).toBe(clock.now() + SETTINGS.keepaliveTtlMs);
      expect((await a.release(x!.key, got.leaseId)).state).toBe("free");
      expect((await b.get(x!.key)).state).toBe("free");
      await b.delete(x!.key);
      await expect(a.get(x!.key)).rejects.toMatchObject({ code: "not-found" });
      await expect(a.acquire()).rejects.toMatchObject({ code: "not-found" });
    });
  });

  describe("RedisStore: Redis specifics", () => {
    test("without a clock, deadlines are judged by Redis TIME", async () => {
      const store = await open({ random: seededRandom(7) });
      const before = Date.now();
      const [made] = await store.generate(1);
      expect(Math.abs(made!.createdAt - before)).toBeLessThan(5_000);
      expect(made!.expiresAt - made!.createdAt).toBe(SETTINGS.keepaliveTtlMs);
      const got = await store.acquire();
      expect(got.blockedUntil! - made!.createdAt).toBeGreaterThanOrEqual(SETTINGS.blockTtlMs);
      expect(got.blockedUntil! - made!.createdAt).toBeLessThan(SETTINGS.blockTtlMs + 5_000);
      expect(await store.get(made!.key)).toEqual(got);
      expect((await store.release(got.key, got.leaseId)).state).toBe("free");
      expect(await store.stats()).toMatchObject({ total: 1, free: 1, blocked: 0 });
    });

    test("a mass expiry is reclaimed by the sweeper in bounded steps, leaving nothing behind", async () => {
      const clock = new ManualClock();
      const store = await open({ clock, sweepIntervalMs: 0 });
      await store.generate(1_000);
      await store.acquire();
      clock.advance(SETTINGS.keepaliveTtlMs);
      const steps: number[] = [];
      for (let s = await store.sweepOnce(); s.work > 0; s = await store.sweepOnce()) steps.push(s.work);
      expect(steps).toEqual([256, 256, 256, 232]);
      expect(await store.stats()).toMatchObject({ total: 0, free: 0, blocked: 0 });
      const [freeAt, freePos, blocks, lives, created, leases] = store.keys;
      expect(await admin.exists(freeAt!, freePos!, blocks!, lives!, created!, leases!)).toBe(0);
    });

    test("freeCount() is the pool's free keys as of this store's latest reply, whoever changed them", async () => {
      const clock = new ManualClock();
      const a = await open({ pool: "counted", clock, sweepIntervalMs: 0 });
      const b = await open({ pool: "counted", clock, sweepIntervalMs: 0 });
      // Opening checked the settings: that reply counted the free keys too.
      expect(a.freeCount()).toBe(0);
      await a.generate(5);
      expect(a.freeCount()).toBe(5);
      const held = await a.acquire();
      expect(a.freeCount()).toBe(4);
      await b.acquire();
      expect(a.freeCount()).toBe(4);
      await a.get(held.key);
      expect(a.freeCount()).toBe(3);
      clock.advance(SETTINGS.blockTtlMs);
      await a.stats();
      expect(a.freeCount()).toBe(5);
      await expect(a.release(held.key, "AAAAAAAAAAAAAAAAAAAAAAAA")).resolves.toMatchObject({ state: "free" });
      expect(a.freeCount()).toBe(5);
    });

    test("every Redis key of a pool carries its hash tag", async () => {
      const store = await open({ pool: "tagged" });
      await store.generate(3);
      await store.acquire();
      const found = await admin.keys("*tagged*");
      expect(found.length).toBeGreaterThan(0);
      for (const k of found) expect(k.startsWith("{keypool:tagged}:")).toBe(true);
    });

    test("scripts survive SCRIPT FLUSH (EVALSHA falls back to EVAL)", async () => {
      const store = await open();
      const [made] = await store.generate(1);
      await admin.script("FLUSH");
      expect(await store.get(made!.key)).toEqual(made);
    });

    test("a pool name that would break the hash tag is refused", async () => {
      await expect(RedisStore.open({ url: server.url, pool: "a}b", ...SETTINGS })).rejects.toThrow(RangeError);
    });
  });

  describe("RedisStore: an event loop that stalls past the command timeout", () => {
    test("calls Redis answered meanwhile succeed: no key is blocked for a caller told UNAVAILABLE", async () => {
      // A long task or a starved CPU holds the loop while the reply sits in the socket; timers run
      // before sockets are read, so a plain timer would call an answered acquire timed out (it
      // did in 4 of 8 such acquires before run() judged its deadline one I/O turn late).
      const store = await open({ commandTimeoutMs: 200 });
      await store.generate(20);
      const outcomes: string[] = [];
      for (const yields of [0, 1, 2, 3, 4, 5, 8, 12]) {
        const acquired = store.acquire().then(() => "ok", (err: KeyPoolError) => err.code);
        for (let i = 0; i < yields; i++) await Promise.resolve(); // the call reaches the socket at some step
        const until = Date.now() + 600;
        while (Date.now() < until); // the stall: 3 timeouts long, Redis answers within it
        outcomes.push(await acquired);
      }
      expect(outcomes).toEqual(Array(8).fill("ok"));
      expect(await store.stats()).toMatchObject({ blocked: 8 });
    });
  });

  describe("RedisStore: Redis goes away and comes back", () => {
    test("calls fail UNAVAILABLE at once and isServing() is false; after a restart it serves again", async () => {
      const own = await RedisServer.start();
      try {
        const store = await open({ url: own.url, commandTimeoutMs: 1_000 });
        const changes: boolean[] = [];
        store.onServingChange((serving) => changes.push(serving));
        await store.generate(2);
        expect(store.isServing()).toBe(true);

        await own.stop();
        await eventually(() => !store.isServing(), "the store to notice Redis is gone");
        for (const call of [() => store.acquire(), () => store.stats(), () => store.generate(1)]) {
          const started = Date.now();
          const err = await call().then(() => undefined, (e: unknown) => e);
          expect(err).toBeInstanceOf(KeyPoolError);
          expect(err).toMatchObject({ code: "unavailable" });
          expect((err as Error).message).toContain(`redis is unreachable at 127.0.0.1:${own.port}`);
          expect(Date.now() - started).toBeLessThan(500);
        }

        await own.start();
        await eventually(() => store.isServing(), "the store to reconnect");
        // No persistence: the pool came back empty, and serves.
        expect(await store.stats()).toMatchObject({ total: 0 });
        expect(await store.generate(1)).toHaveLength(1);
        expect(changes).toEqual([false, true]);
      } finally {
        await own.dispose();
      }
    });
  });
}

