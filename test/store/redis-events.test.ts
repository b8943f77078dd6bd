import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { backgroundScheduler } from "../../src/scheduler.js";
import type { KeyInfo } from "../../src/pool/index.js";
import { AcquireQueue } from "../../src/store/acquire-queue.js";
import { shardChannel } from "../../src/store/redis/shard-keys.js";
import { RedisStore } from "../../src/store/redis-store.js";
import type { RedisStoreOptions } from "../../src/store/redis-store.js";
import { eventually } from "../support/eventually.js";
import { RedisServer, hasRedisServer } from "../support/redis-server.js";

const SKIP_REASON = "redis-server not on PATH: install the Debian package redis-server";
const SETTINGS = { blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: 2_000 };
/** Far beyond every wait below: a waiter served in time was served by an event, not a poll. */
const NO_POLL_MS = 60_000;
const ZERO = { generated: 0, acquired: 0, released: 0, autoReleased: 0, expired: 0, deleted: 0, acquireMisses: 0 };

if (!hasRedisServer()) {
  console.warn(`\n!!! ${SKIP_REASON}. EVERY RedisStore event test is SKIPPED. CI installs it and never skips. !!!\n`);
  test.skip(SKIP_REASON, () => {});
} else {
  let server: RedisServer;
  const cleanups: (() => unknown)[] = [];
  let pools = 0;

  /** Two stores (two "servers") on one fresh pool, without background sweeps unless asked. */
  async function pair(options: Partial<RedisStoreOptions> = {}): Promise<[RedisStore, RedisStore]> {
    const pool = `e${++pools}`;
    const open = async (): Promise<RedisStore> => {
      const store = await RedisStore.open({ url: server.url, pool, ...SETTINGS, sweepIntervalMs: 0, ...options });
      cleanups.push(() => store.close());
      return store;
    };
    return [await open(), await open()];
  }

  /** Counts `store`'s keys-freed events. */
  function listen(store: RedisStore): { readonly count: number } {
    const seen = { count: 0 };
    cleanups.push(store.onKeysFreed(() => seen.count++));
    return seen;
  }

  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  describe("RedisStore events: keys freed on one server wake the others", () => {
    test("generation, release and automatic release through B fire A's listener; acquire, keepalive and delete do not", async () => {
      const clock = new ManualClock();
      const [a, b] = await pair({ clock });
      const events = listen(a);
      const [k1, k2] = await b.generate(2);
      await eventually(() => events.count === 1, "the generation event");

      const held = await b.acquire();
      await b.keepAlive(held.key);
      await b.delete(held.key === k1!.key ? k2!.key : k1!.key);
      await b.release(held.key, held.leaseId);
      // Pub/sub keeps order: had the three calls before the release published, A would have seen them by now.
      await eventually(() => events.count >= 2, "the release event");
      expect(events.count).toBe(2);

      await b.acquire();
      clock.advance(SETTINGS.blockTtlMs);
      expect((await b.sweepOnce()).work).toBe(1);
      await eventually(() => events.count === 3, "the automatic release event");
    });

    test("waiters on A get a key released on B, then keys generated on B, in arrival order and without polling", async () => {
      const [a, b] = await pair();
      const queue = new AcquireQueue(a, { maxWaiters: 10, pollMs: NO_POLL_MS, scheduler: backgroundScheduler });
      cleanups.push(() => queue.close());
      const [only] = await b.generate(1);
      const held = await b.acquire();
      const signal = new AbortController().signal;
      const got: KeyInfo[] = [];
      const waiters = [1, 2, 3].map(() => queue.acquire(NO_POLL_MS, signal).then((key) => got.push(key)));
      await eventually(() => queue.size === 3, "three waiters queued");

      const started = Date.now();
      await b.release(held.key, held.leaseId);
      await eventually(() => got.length === 1, "the first waiter served");
      expect(got[0]).toMatchObject({ key: only!.key, state: "blocked" });
      expect(got[0]!.leaseId).not.toBe(held.leaseId);

      const fresh = await b.generate(2);
      await Promise.all(waiters);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(got.slice(1).map((k) => k.key).sort()).toEqual(fresh.map((k) => k.key).sort());
      expect(await b.stats()).toMatchObject({ total: 3, free: 0, blocked: 3 });
    });

    test("each store subscribes again after Redis restarts, tells its listeners once, and hears the others again", async () => {
      const own = await RedisServer.start();
      cleanups.push(() => own.dispose());
      const [a, b] = await pair({ url: own.url, commandTimeoutMs: 1_000 });
      const events = listen(a);
      await own.stop();
      await eventually(() => !a.isServing() && !b.isServing(), "both stores to notice the outage");
      await own.start();
      // The event after resubscribing: keys may have been freed while A was not listening.
      await eventually(() => events.count === 1, "A's resubscription event");
      await b.ready();
      await b.generate(1);
      await eventually(() => events.count === 2, "the generation event after the restart");
    });

    test("the channel carries the pool's hash tag, and only scripts that free or add keys publish on it", async () => {
      const [a] = await pair();
      const channel = shardChannel(`e${pools}`);
      expect(channel).toBe(`{keypool:e${pools}}:freed`);
      const spy = new Redis(server.url);
      cleanups.push(() => spy.disconnect());
      const messages: string[] = [];
      spy.on("message", (_channel: string, message: string) => messages.push(message));
      await spy.subscribe(channel);
      const [key] = await a.generate(3);
      const held = await a.acquire();
      await a.get(key!.key);
      await a.stats();
      await a.release(held.key, held.leaseId);
      await eventually(() => messages.length === 2, "two messages");
      // Each message says how many keys the script freed or added.
      expect(messages).toEqual(["3", "1"]);
    });
  });

  describe("RedisStore counters: what this store's own calls did", () => {
    test("each store counts its own calls and the expiry work its own scripts did", async () => {
      const clock = new ManualClock();
      const [a, b] = await pair({ clock });
      await a.generate(4);
      const held = await a.acquire();
      const gone = await a.acquire();
      await a.release(held.key, held.leaseId);
      await a.release(held.key);
      await a.delete(gone.key);
      expect(b.counters()).toEqual(ZERO);

      await b.generate(1);
      const tries = await Promise.allSettled([1, 2, 3, 4, 5].map(() => b.acquire()));
      expect(tries.filter((r) => r.status === "rejected")).toHaveLength(1);
      clock.advance(SETTINGS.blockTtlMs);
      await a.stats();
      clock.advance(SETTINGS.keepaliveTtlMs);
      await b.stats();
      // A released once (the second release found the key free), and settled the four ended blocks.
      expect(a.counters()).toEqual({ ...ZERO, generated: 4, acquired: 2, released: 1, deleted: 1, autoReleased: 4 });
      expect(b.counters()).toEqual({ ...ZERO, generated: 1, acquired: 4, acquireMisses: 1, expired: 4 });
    });
  });
}
