import { expect, test } from "vitest";
import type { KeyStore } from "../../../src/store/key-store.js";
import { BLOCK_MS, FOREIGN_LEASE, LIFE_MS, expectCode } from "./context.js";
import type { ConformanceContext } from "./context.js";

/** More keys than one call's bounded catch-up (64) settles. */
const BACKLOG = 300;

interface DeathCase {
  readonly method: string;
  /** Calls the method on a key that died this instant; must show the key is gone. */
  readonly call: (store: KeyStore, key: string, leaseId: string | undefined) => Promise<void>;
}

const AT_DEATH = [
  { method: "get", call: (s, k) => expectCode(s.get(k), "not-found").then(() => {}) },
  { method: "release", call: (s, k) => expectCode(s.release(k), "not-found").then(() => {}) },
  { method: "release with lease", call: (s, k, l) => expectCode(s.release(k, l), "not-found").then(() => {}) },
  { method: "delete", call: (s, k) => expectCode(s.delete(k), "not-found").then(() => {}) },
  { method: "keepAlive", call: (s, k) => expectCode(s.keepAlive(k), "not-found").then(() => {}) },
  {
    method: "keepAliveMany",
    call: async (s, k) => expect(await s.keepAliveMany([k])).toEqual([{ key: k, found: false }]),
  },
  { method: "acquire", call: (s) => expectCode(s.acquire(), "not-found").then(() => {}) },
  { method: "stats", call: async (s) => expect(await s.stats()).toMatchObject({ total: 0, free: 0, blocked: 0 }) },
  { method: "generate", call: async (s) => void (await s.generate(1)) },
] satisfies DeathCase[];

/** The two clocks of a key: auto-release at `blockedUntil`, death at `expiresAt`, both inclusive. */
export function deadlineTests(ctx: ConformanceContext): void {
  test("auto-release: blocked 1 ms before blockedUntil, free at exactly blockedUntil, with no call", async () => {
    const { store, clock } = await ctx.open();
    await store.generate(1);
    const got = await store.acquire();
    clock.set(got.blockedUntil! - 1);
    expect(await store.get(got.key)).toEqual(got);
    await expectCode(store.acquire(), "not-found");
    expect(await store.stats()).toMatchObject({ free: 0, blocked: 1 });
    clock.advance(1);
    expect(await store.stats()).toMatchObject({ total: 1, free: 1, blocked: 0 });
    const again = await store.acquire();
    expect(again).toMatchObject({ key: got.key, state: "blocked", blockedUntil: clock.now() + BLOCK_MS });
    expect(again.leaseId).not.toBe(got.leaseId);
  });

  test("auto-release: every method sees the key free at exactly blockedUntil", async () => {
    const { store, clock } = await ctx.open();
    const [made] = await store.generate(1);
    const got = await store.acquire();
    clock.set(got.blockedUntil!);
    const free = { ...made, state: "free", leaseId: undefined, blockedUntil: undefined, fencingToken: 1 };
    expect(await store.get(got.key)).toEqual(free);
    // The old lease no longer holds the key: releasing a free key is OK and changes nothing.
    expect(await store.release(got.key, got.leaseId)).toEqual(free);
    expect(await store.keepAlive(got.key)).toEqual({ ...free, expiresAt: clock.now() + LIFE_MS });
  });

  test("auto-release: a key re-acquired under a new lease is not released by the first lease's deadline", async () => {
    const { store, clock } = await ctx.open();
    await store.generate(1);
    const first = await store.acquire();
    clock.advance(10);
    await store.release(first.key, first.leaseId);
    clock.advance(10);
    const second = await store.acquire();
    clock.set(first.blockedUntil!);
    expect(await store.get(first.key)).toEqual(second);
    await expectCode(store.acquire(), "not-found");
    await expectCode(store.release(first.key, first.leaseId), "failed-precondition");
    clock.set(second.blockedUntil! - 1);
    expect((await store.get(first.key)).leaseId).toBe(second.leaseId);
    clock.advance(1);
    expect((await store.get(first.key)).state).toBe("free");
  });

  test("auto-release: a key acquired again at its deadline is blocked one full TTL from then", async () => {
    const { store, clock } = await ctx.open();
    await store.generate(1);
    const first = await store.acquire();
    clock.set(first.blockedUntil!);
    const second = await store.acquire();
    expect(second.blockedUntil).toBe(first.blockedUntil! + BLOCK_MS);
    await expectCode(store.release(first.key, first.leaseId), "failed-precondition");
    clock.set(second.blockedUntil! - 1);
    expect((await store.get(second.key)).leaseId).toBe(second.leaseId);
  });

  test("deadlines are exact per key even behind a backlog larger than any bounded catch-up", async () => {
    const { store, clock } = await ctx.open();
    // 300 blocks end and 300 keys die before the target's own deadlines come.
    await store.generate(BACKLOG);
    for (let i = 0; i < BACKLOG; i++) await store.acquire();
    clock.advance(1);
    const [target] = await store.generate(1);
    const got = await store.acquire();
    expect(got.key).toBe(target!.key);
    clock.set(got.blockedUntil! - 1);
    expect(await store.get(target!.key)).toEqual(got);
    clock.advance(1);
    const free = { ...target, state: "free", leaseId: undefined, blockedUntil: undefined, fencingToken: 1 };
    expect(await store.release(target!.key, FOREIGN_LEASE)).toEqual(free);
    // Every other key is dead now: acquire must skip them all and find the target.
    clock.set(target!.expiresAt - 1);
    expect((await store.acquire()).key).toBe(target!.key);
    clock.advance(1);
    expect(await store.keepAliveMany([target!.key])).toEqual([{ key: target!.key, found: false }]);
    await expectCode(store.keepAlive(target!.key), "not-found");
    await expectCode(store.get(target!.key), "not-found");
  });

  for (const c of AT_DEATH as readonly DeathCase[]) {
    for (const blocked of [false, true]) {
      test(`expiry: a ${blocked ? "blocked" : "free"} key is alive 1 ms before expiresAt, gone at it (${c.method})`, async () => {
        const { store, clock } = await ctx.open({ maxKeys: 1 });
        const [made] = await store.generate(1);
        // Acquired shortly before it dies, the key is still blocked when it dies.
        clock.set(made!.expiresAt - 10);
        const lease = blocked ? (await store.acquire()).leaseId : undefined;
        clock.set(made!.expiresAt - 1);
        expect(await store.get(made!.key)).toMatchObject({ state: blocked ? "blocked" : "free" });
        clock.advance(1);
        await c.call(store, made!.key, lease);
        await expectCode(store.get(made!.key), "not-found");
        const after = await store.stats();
        expect(after.total - after.free - after.blocked).toBe(0);
        expect(after.blocked).toBe(0);
      });
    }
  }

  test("expiry: dead keys are not counted in stats, blocked or free", async () => {
    const { store, clock } = await ctx.open();
    const made = await store.generate(3);
    clock.advance(LIFE_MS - 10);
    const held = await store.acquire();
    await store.keepAlive(made.find((k) => k.key !== held.key)!.key);
    clock.advance(10);
    expect(await store.stats()).toMatchObject({ total: 1, free: 1, blocked: 0 });
  });

  test("expiry: acquire, release and get never extend a life", async () => {
    const { store, clock } = await ctx.open();
    const [made] = await store.generate(1);
    for (let t = 0; t < 4; t++) {
      clock.advance(BLOCK_MS / 2);
      const got = await store.acquire();
      expect(got.expiresAt).toBe(made!.expiresAt);
      expect((await store.release(got.key)).expiresAt).toBe(made!.expiresAt);
      expect((await store.get(got.key)).expiresAt).toBe(made!.expiresAt);
    }
    clock.set(made!.expiresAt);
    await expectCode(store.acquire(), "not-found");
  });
}
