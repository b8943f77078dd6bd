import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { seededRandom } from "../../src/random.js";
import { AcquireQueue } from "../../src/store/acquire-queue.js";
import type { KeyStore } from "../../src/store/key-store.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { DataDirFixture, makeTempDir, removeDir } from "../support/durable-dirs.js";

interface Made {
  readonly store: KeyStore;
  cleanup(): Promise<void>;
}

const TTLS = { blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: 100 };
const factories: Record<string, () => Promise<Made>> = {
  memory: async () => {
    const store = new MemoryStore({ ...TTLS, clock: new ManualClock(), random: seededRandom(3) });
    return { store, cleanup: () => store.close() };
  },
  durable: async () => {
    const dir = await makeTempDir("queue");
    const fixture = new DataDirFixture(dir);
    const store = await fixture.reopen(TTLS);
    return { store, cleanup: async () => (await store.close(), await removeDir(dir)) };
  },
};

let made: Made | undefined;
afterEach(async () => {
  await made?.cleanup();
  made = undefined;
});

describe.each(Object.keys(factories))("waiting acquire on the %s store", (kind) => {
  it("is served by the store's freed-key events, first come first served, without polling", async () => {
    made = await factories[kind]!();
    const { store } = made;
    const queue = new AcquireQueue(store, { maxWaiters: 10, pollMs: 60_000 });
    const never = new AbortController().signal;
    const first = queue.acquire(30_000, never);
    const second = queue.acquire(30_000, never);
    await new Promise((r) => setImmediate(r));
    expect(queue.size).toBe(2);
    const [a] = await store.generate(1);
    expect((await first).key).toBe(a!.key);
    expect(queue.size).toBe(1);
    const [b] = await store.generate(1);
    expect((await second).key).toBe(b!.key);
    queue.close();
  });

  it("refuses waiters beyond --max-waiters", async () => {
    made = await factories[kind]!();
    const queue = new AcquireQueue(made.store, { maxWaiters: 1, pollMs: 60_000 });
    const controller = new AbortController();
    const waiting = queue.acquire(30_000, controller.signal).catch(() => "gave up");
    await expect(queue.acquire(30_000, controller.signal)).rejects.toMatchObject({ code: "resource-exhausted" });
    controller.abort();
    expect(await waiting).toBe("gave up");
    expect(queue.size).toBe(0);
    queue.close();
  });
});
