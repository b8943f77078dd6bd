import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { KeyPoolError } from "../../src/pool/index.js";
import { seededRandom } from "../../src/random.js";
import { ManualScheduler } from "../../src/scheduler.js";
import { AcquireQueue } from "../../src/store/acquire-queue.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import type { KeyStore } from "../../src/store/key-store.js";
import { Signal } from "../../src/store/signal.js";
import { DataDirFixture, makeTempDir, removeDir } from "../support/durable-dirs.js";
import { eventually } from "../support/eventually.js";

interface Made {
  readonly store: KeyStore;
  readonly scheduler: ManualScheduler;
  cleanup(): Promise<void>;
}

const TTLS = { blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: 100 };
const factories: Record<string, () => Promise<Made>> = {
  memory: async () => {
    const scheduler = new ManualScheduler(new ManualClock());
    const store = EmbeddedStore.memory({ ...TTLS, scheduler, random: seededRandom(3) });
    return { store, scheduler, cleanup: () => store.close() };
  },
  durable: async () => {
    const dir = await makeTempDir("queue");
    const fixture = new DataDirFixture(dir);
    const store = await fixture.reopen(TTLS);
    return { store, scheduler: fixture.scheduler, cleanup: async () => (await store.close(), await removeDir(dir)) };
  },
};

/**
 * `store` with its faults and freed-key events in the test's hands: `failing` makes acquire fail
 * as an unreachable backend does; events pass through only while `quiet` is false (a key freed
 * on another server of a shared pool is exactly a freed key whose event has not arrived).
 */
function controlled(store: KeyStore): KeyStore & { failing: boolean; quiet: boolean; announce(): void } {
  const freed = new Signal();
  const wrapper = Object.create(store) as KeyStore & { failing: boolean; quiet: boolean; announce(): void };
  wrapper.failing = false;
  wrapper.quiet = false;
  wrapper.announce = () => freed.emit();
  wrapper.acquire = () =>
    wrapper.failing ? Promise.reject(new KeyPoolError("unavailable", "redis is unreachable")) : store.acquire();
  wrapper.onKeysFreed = (listener) => freed.subscribe(listener);
  store.onKeysFreed(() => wrapper.quiet || freed.emit());
  return wrapper;
}

const settled = <T>(p: Promise<T>): Promise<{ value?: T; error?: KeyPoolError }> =>
  p.then((value) => ({ value }), (error: KeyPoolError) => ({ error }));

/**
 * Waits until `n` callers wait in `queue`. Every caller tries the store first, and on the durable
 * store that attempt waits for a disk write, so how long it takes is I/O, not domain time.
 */
const queued = (queue: AcquireQueue, n: number): Promise<void> =>
  eventually(() => queue.size === n, `${n} callers waiting`);

let made: Made | undefined;
afterEach(async () => {
  await made?.cleanup();
  made = undefined;
});

describe.each(Object.keys(factories))("waiting acquire on the %s store", (kind) => {
  const never = new AbortController().signal;

  it("is served by the store's freed-key events, first come first served, without polling", async () => {
    made = await factories[kind]!();
    const { store, scheduler } = made;
    const queue = new AcquireQueue(store, { maxWaiters: 10, pollMs: 60_000, scheduler });
    const first = queue.acquire(30_000, never);
    const second = queue.acquire(30_000, never);
    await queued(queue, 2);
    const [a] = await store.generate(1);
    expect((await first).key).toBe(a!.key);
    expect(queue.size).toBe(1);
    const [b] = await store.generate(1);
    expect((await second).key).toBe(b!.key);
    queue.close();
  });

  it("refuses waiters beyond --max-waiters", async () => {
    made = await factories[kind]!();
    const queue = new AcquireQueue(made.store, { maxWaiters: 1, pollMs: 60_000, scheduler: made.scheduler });
    const controller = new AbortController();
    const waiting = queue.acquire(30_000, controller.signal).catch(() => "gave up");
    await queued(queue, 1);
    await expect(queue.acquire(30_000, controller.signal)).rejects.toMatchObject({ code: "resource-exhausted" });
    controller.abort();
    expect(await waiting).toBe("gave up");
    expect(queue.size).toBe(0);
    queue.close();
  });

  it("a wait ends NOT_FOUND exactly at its deadline on the scheduler, and not a millisecond before", async () => {
    made = await factories[kind]!();
    const queue = new AcquireQueue(made.store, { maxWaiters: 10, pollMs: 60_000, scheduler: made.scheduler });
    const outcome = settled(queue.acquire(1_000, never));
    await queued(queue, 1);
    made.scheduler.advance(999);
    expect(queue.size).toBe(1);
    made.scheduler.advance(1);
    expect((await outcome).error).toMatchObject({ code: "not-found", message: expect.stringMatching(/within 1000 ms/) });
  });

  it("a cancelled wait is CANCELLED, and its place goes to the next waiter", async () => {
    made = await factories[kind]!();
    const queue = new AcquireQueue(made.store, { maxWaiters: 10, pollMs: 60_000, scheduler: made.scheduler });
    const controller = new AbortController();
    const gone = settled(queue.acquire(30_000, controller.signal));
    const next = queue.acquire(30_000, never);
    await queued(queue, 2);
    controller.abort();
    expect((await gone).error).toMatchObject({ code: "cancelled" });
    const [key] = await made.store.generate(1);
    expect((await next).key).toBe(key!.key);
  });

  it("a store fault during a wait ends every wait UNAVAILABLE at once, never NOT_FOUND", async () => {
    made = await factories[kind]!();
    const store = controlled(made.store);
    const queue = new AcquireQueue(store, { maxWaiters: 10, pollMs: 100, scheduler: made.scheduler });
    const waits = [settled(queue.acquire(30_000, never)), settled(queue.acquire(30_000, never))];
    await queued(queue, 2);
    store.failing = true;
    made.scheduler.advance(100); // the next poll meets the outage
    for (const outcome of await Promise.all(waits)) expect(outcome.error).toMatchObject({ code: "unavailable" });
    expect(queue.size).toBe(0);
    queue.close();
  });

  it("a newcomer is never made to wait while a key is free; waiters keep their order", async () => {
    made = await factories[kind]!();
    const store = controlled(made.store);
    const queue = new AcquireQueue(store, { maxWaiters: 10, pollMs: 60_000, scheduler: made.scheduler });
    const got: string[] = [];
    const waiters = [1, 2].map((i) => queue.acquire(30_000, never).then(() => got.push(`waiter ${i}`)));
    await queued(queue, 2);
    store.quiet = true; // a key freed where this server cannot hear of it yet
    const [elsewhere] = await store.generate(1);
    expect((await queue.acquire(30_000, never)).key).toBe(elsewhere!.key);
    store.quiet = false;
    await store.generate(2);
    await Promise.all(waiters);
    expect(got).toEqual(["waiter 1", "waiter 2"]);
  });

  // Issue 15.6: a key must go to the caller, to the next waiter, or back to the pool.
  it.each([0, 1, 2, 5])("a key freed %i ms before a waiter's deadline is never orphaned", async (early) => {
    made = await factories[kind]!();
    const { store, scheduler } = made;
    const queue = new AcquireQueue(store, { maxWaiters: 10, pollMs: 60_000, scheduler });
    await store.generate(1);
    const held = await store.acquire();
    const outcome = settled(queue.acquire(1_000, never));
    await queued(queue, 1);
    scheduler.advance(1_000 - early);
    const release = store.release(held.key, held.leaseId); // the waiter is served while this settles
    scheduler.advance(early); // ... and its deadline passes meanwhile
    await release;
    const { value, error } = await outcome;
    await new Promise((r) => setImmediate(r));
    if (value) expect(await store.get(held.key)).toMatchObject({ state: "blocked", leaseId: value.leaseId });
    else {
      expect(error).toMatchObject({ code: "not-found" });
      // The key acquired for nobody goes back (a durable release waits for its disk write).
      await eventually(async () => (await store.get(held.key)).state === "free", "the key back in the pool");
    }
    queue.close();
  });
});
