import { durationFromMs } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import type { CallContext } from "../../src/grpc/typed-server.js";
import { seededRandom } from "../../src/random.js";
import { ManualScheduler } from "../../src/scheduler.js";
import { ANSWER_MARGIN_MS, keyServiceImpl } from "../../src/server/key-service.js";
import { DEFAULT_LIMITS } from "../../src/server/limits.js";
import { Metrics } from "../../src/server/metrics.js";
import { StreamRegistry } from "../../src/server/stream-registry.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import { singlePoolSet } from "../../src/store/pool-set.js";
import { PoolWaiters } from "../../src/store/pool-waiters.js";

/**
 * Issue 15.6: a waiting AcquireKey answered within ~5 ms of its call's deadline left the key
 * blocked under a lease nobody received. Rule: a key goes to the caller, to the next waiter, or
 * back to the pool. The handler runs here on a ManualScheduler with a call whose deadline the
 * test sets (`timeLeftMs` follows the scheduler), so the race is exact, not timed.
 */
function harness() {
  const scheduler = new ManualScheduler(new ManualClock());
  const store = EmbeddedStore.memory({ blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: 10, scheduler, random: seededRandom(5) });
  const streams = new StreamRegistry();
  const pools = singlePoolSet(store);
  const waiters = new PoolWaiters(pools, { maxWaiters: 10, scheduler });
  const impl = keyServiceImpl({ pools, waiters, streams, limits: DEFAULT_LIMITS, metrics: new Metrics(pools, streams), recheck: () => undefined });
  /** A call whose deadline is `deadlineMs` from now on the scheduler; `cancel` ends it as grpc-js does. */
  const call = (deadlineMs: number) => {
    const controller = new AbortController();
    const deadline = scheduler.now() + deadlineMs;
    const context: CallContext = {
      method: "/keypool.v1.KeyService/AcquireKey", metadata: new grpc.Metadata(), peer: "test",
      signal: controller.signal, timeLeftMs: () => deadline - scheduler.now(),
    };
    return { context, cancel: () => controller.abort() };
  };
  return { scheduler, store, waiters, impl, call, close: () => (waiters.close(), store.close()) };
}

let h: ReturnType<typeof harness> | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const settled = <T>(p: Promise<T>) => p.then((value) => ({ value, error: undefined }), (error: unknown) => ({ value: undefined, error }));

describe("a waiting AcquireKey at its call's deadline", () => {
  it.each([1, 5, ANSWER_MARGIN_MS - 1])("is not handed a key freed %i ms before the deadline: the key stays in the pool", async (early) => {
    h = harness();
    const [made] = await h.store.generate(1);
    const held = await h.store.acquire();
    const { context } = h.call(1_000);
    const answer = settled(h.impl.acquireKey({ wait: durationFromMs(60_000), pool: "" } as never, context));
    await new Promise((r) => setImmediate(r));
    h.scheduler.advance(1_000 - early);
    await h.store.release(held.key, held.leaseId);
    await new Promise((r) => setImmediate(r));
    const { value, error } = await answer;
    // The wait ended ANSWER_MARGIN_MS before the deadline, with an answer the client can still receive.
    expect(value).toBeUndefined();
    expect(error).toMatchObject({ code: "not-found" });
    expect(await h.store.get(made!.key)).toMatchObject({ state: "free" });
  });

  it("is handed a key freed before the margin", async () => {
    h = harness();
    await h.store.generate(1);
    const held = await h.store.acquire();
    const { context } = h.call(1_000);
    const answer = h.impl.acquireKey({ wait: durationFromMs(60_000), pool: "" } as never, context);
    await new Promise((r) => setImmediate(r));
    h.scheduler.advance(1_000 - ANSWER_MARGIN_MS - 1);
    await h.store.release(held.key, held.leaseId);
    const { key } = await answer;
    expect(await h.store.get(key!.key!)).toMatchObject({ state: "blocked", leaseId: key!.leaseId });
  });

  it("a key acquired for a call that ended before the answer went out goes back to the pool", async () => {
    h = harness();
    const [made] = await h.store.generate(1);
    const { context, cancel } = h.call(Infinity);
    // The store answers, then the call is cancelled before the handler can reply.
    const inner = h.waiters.acquire.bind(h.waiters);
    h.waiters.acquire = async (pool, waitMs, signal) => {
      const key = await inner(pool, waitMs, signal);
      cancel();
      return key;
    };
    const { error } = await settled(h.impl.acquireKey({ pool: "" } as never, context));
    expect(error).toMatchObject({ code: "cancelled" });
    expect(await h.store.get(made!.key)).toMatchObject({ state: "free" });
  });
});
