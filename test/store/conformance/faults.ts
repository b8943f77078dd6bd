import { expect, test } from "vitest";
import type { KeyPoolError } from "../../../src/pool/index.js";
import { AcquireQueue } from "../../../src/store/acquire-queue.js";
import { eventually } from "../../support/eventually.js";
import { expectCode } from "./context.js";
import type { ConformanceContext } from "./context.js";

const settled = <T>(p: Promise<T>): Promise<{ value?: T; error?: KeyPoolError }> =>
  p.then((value) => ({ value }), (error: KeyPoolError) => ({ error }));

/**
 * Faults are UNAVAILABLE, never a wrong answer: a store whose backend failed (a failed disk, a
 * killed Redis) answers every call UNAVAILABLE, waiting acquires included; a cancelled wait is
 * CANCELLED. The backend groups run where the store has one (`capabilities.faulty`).
 */
export function faultTests(ctx: ConformanceContext): void {
  test("faults: a cancelled wait is CANCELLED, and the key goes to the next waiter", async () => {
    const { store, scheduler } = await ctx.open();
    const queue = new AcquireQueue(store, { maxWaiters: 10, pollMs: 60_000, scheduler });
    try {
      const controller = new AbortController();
      const gone = settled(queue.acquire(30_000, controller.signal));
      const next = queue.acquire(30_000, new AbortController().signal);
      await eventually(() => queue.size === 2, "two waiters");
      controller.abort();
      expect((await gone).error).toMatchObject({ code: "cancelled" });
      const [made] = await store.generate(1);
      expect((await next).key).toBe(made!.key);
    } finally {
      queue.close();
    }
  });

  if (!ctx.capabilities.faulty) return;

  test("faults: once the backend failed, every call answers UNAVAILABLE and the store says it cannot serve", async () => {
    const opened = await ctx.openFaulty();
    const { store } = opened;
    const [free] = await store.generate(2);
    const held = await store.acquire();
    expect(store.isServing()).toBe(true);
    await opened.fail();
    const calls: Record<string, () => Promise<unknown>> = {
      generate: () => store.generate(1),
      acquire: () => store.acquire(),
      release: () => store.release(held.key, held.leaseId),
      delete: () => store.delete(free!.key),
      keepAlive: () => store.keepAlive(free!.key),
      keepAliveMany: () => store.keepAliveMany([free!.key, held.key]),
      get: () => store.get(free!.key),
      stats: () => store.stats(),
      renew: () => store.renew(held.key, held.leaseId!),
      renewMany: () => store.renewMany([{ key: held.key, leaseId: held.leaseId! }]),
    };
    for (const [name, call] of Object.entries(calls)) {
      const err = await expectCode(call(), "unavailable").catch((e: Error) => {
        throw new Error(`${name}: ${e.message}`);
      });
      expect(err.message.length, name).toBeGreaterThan(0);
    }
    await eventually(() => !store.isServing(), "the store to report it cannot serve");
  });

  test("faults: a waiting AcquireKey ends UNAVAILABLE when the backend fails during its wait, never NOT_FOUND", async () => {
    const opened = await ctx.openFaulty();
    const queue = new AcquireQueue(opened.store, { maxWaiters: 10, pollMs: 100, scheduler: opened.scheduler });
    try {
      const waits = [settled(queue.acquire(30_000, new AbortController().signal)), settled(queue.acquire(30_000, new AbortController().signal))];
      await eventually(() => queue.size === 2, "two waiters");
      await opened.fail();
      opened.scheduler.advance(100); // the next poll meets the failed backend
      for (const outcome of await Promise.all(waits)) expect(outcome.error).toMatchObject({ code: "unavailable" });
      await expectCode(queue.acquire(30_000, new AbortController().signal), "unavailable");
    } finally {
      queue.close();
    }
  });
}
