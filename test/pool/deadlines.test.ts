import { describe, expect, it } from "vitest";
import type { KeyInfo, KeyPool } from "../../src/pool/index.js";
import { BLOCK_TTL, FOREIGN_LEASE, KEEPALIVE_TTL, T0, makePool, outcome } from "./pool-fixtures.js";

/** How one method sees a key at an instant. No observer sweeps. */
interface Observer {
  readonly name: string;
  readonly observe: (pool: KeyPool, key: KeyInfo, now: number) => unknown;
}

interface Expectation {
  /** What the observer sees 1 ms before the deadline. */
  readonly before: unknown;
  /** What it sees at exactly the deadline. */
  readonly at: unknown;
}

/** Each method's view of a blocked key (the only key of its pool) around `blocked_until`. */
const BLOCK_OBSERVERS = [
  { name: "get", observe: (pool, key, now) => pool.get(key.key, now).state, before: "blocked", at: "free" },
  { name: "stats", observe: (pool, _key, now) => pool.stats(now).free, before: 0, at: 1 },
  { name: "acquire", observe: (pool, _key, now) => outcome(() => pool.acquire(now)), before: "not-found", at: "ok" },
  {
    name: "release with another lease",
    observe: (pool, key, now) => outcome(() => pool.release(key.key, FOREIGN_LEASE, now)),
    before: "failed-precondition",
    at: "ok",
  },
  { name: "keepAlive", observe: (pool, key, now) => pool.keepAlive(key.key, now).state, before: "blocked", at: "free" },
] satisfies (Observer & Expectation)[];

/** Each method's view of a key around `expires_at`, for a free key and for a key still blocked then. */
const LIFE_OBSERVERS = [
  { name: "get", observe: (pool, key, now) => outcome(() => pool.get(key.key, now)), free: "ok", blocked: "ok", at: "not-found" },
  { name: "stats", observe: (pool, _key, now) => pool.stats(now).total, free: 1, blocked: 1, at: 0 },
  { name: "acquire", observe: (pool, _key, now) => outcome(() => pool.acquire(now)), free: "ok", blocked: "not-found", at: "not-found" },
  {
    name: "release",
    observe: (pool, key, now) => outcome(() => pool.release(key.key, key.leaseId, now)),
    free: "ok",
    blocked: "ok",
    at: "not-found",
  },
  { name: "keepAlive", observe: (pool, key, now) => outcome(() => pool.keepAlive(key.key, now)), free: "ok", blocked: "ok", at: "not-found" },
  { name: "delete", observe: (pool, key, now) => outcome(() => pool.delete(key.key, now)), free: "ok", blocked: "ok", at: "not-found" },
] satisfies (Observer & { free: unknown; blocked: unknown; at: unknown })[];

/** A pool whose only key dies at T0 + KEEPALIVE_TTL, free or blocked past its death. */
function dyingKey(state: "free" | "blocked"): { pool: KeyPool; key: KeyInfo } {
  const pool = makePool();
  const [key] = pool.generate(1, T0);
  // Acquired half a block before its death, the key is still blocked when it dies.
  return { pool, key: state === "free" ? key! : pool.acquire(T0 + KEEPALIVE_TTL - BLOCK_TTL / 2) };
}

describe("deadlines", () => {
  it("frees a blocked key at exactly blocked_until, as every method sees it, with no sweep", () => {
    for (const c of BLOCK_OBSERVERS) {
      for (const [offset, expected] of [[-1, c.before], [0, c.at]] as const) {
        const pool = makePool();
        pool.generate(1, T0);
        const key = pool.acquire(T0);
        expect(c.observe(pool, key, T0 + BLOCK_TTL + offset), `${c.name} at deadline${offset}`).toEqual(expected);
      }
    }
  });

  it("kills a key at exactly expires_at, blocked or not, as every method sees it, with no sweep", () => {
    for (const c of LIFE_OBSERVERS) {
      for (const state of ["free", "blocked"] as const) {
        const before = dyingKey(state);
        expect(c.observe(before.pool, before.key, T0 + KEEPALIVE_TTL - 1), `${c.name}, ${state}, 1 ms before`).toEqual(c[state]);
        const at = dyingKey(state);
        expect(c.observe(at.pool, at.key, T0 + KEEPALIVE_TTL), `${c.name}, ${state}, at expiry`).toEqual(c.at);
      }
    }
  });

  it("does not end a second lease at the first lease's deadline", () => {
    const pool = makePool();
    const [only] = pool.generate(1, T0);
    const first = pool.acquire(T0);
    pool.release(only!.key, first.leaseId, T0 + 10);
    const second = pool.acquire(T0 + 20);
    const firstDeadline = T0 + BLOCK_TTL;
    expect(pool.get(only!.key, firstDeadline)).toMatchObject({ state: "blocked", leaseId: second.leaseId, blockedUntil: T0 + 20 + BLOCK_TTL });
    expect(pool.stats(firstDeadline)).toMatchObject({ free: 0, blocked: 1 });
    expect(outcome(() => pool.acquire(firstDeadline))).toBe("not-found");
    expect(pool.sweep(firstDeadline, 100)).toBe(0);
    expect(outcome(() => pool.release(only!.key, FOREIGN_LEASE, firstDeadline))).toBe("failed-precondition");
    expect(pool.acquire(T0 + 20 + BLOCK_TTL).key).toBe(only!.key);
  });

  it("reclaims dead keys' memory, blocked or not, on sweep, one unit of work per key", () => {
    const pool = makePool();
    pool.generate(3, T0);
    pool.acquire(T0 + KEEPALIVE_TTL - BLOCK_TTL / 2);
    expect(pool.size).toBe(3);
    expect(pool.sweep(T0 + KEEPALIVE_TTL - 1, 10)).toBe(0);
    expect(pool.size).toBe(3);
    expect(pool.sweep(T0 + KEEPALIVE_TTL, 2)).toBe(2);
    expect(pool.size).toBe(1);
    expect(pool.sweep(T0 + KEEPALIVE_TTL, 10)).toBe(1);
    expect(pool.size).toBe(0);
  });
});

describe("time inside the pool", () => {
  it("never un-expires a key when a call passes an earlier time", () => {
    const pool = makePool();
    const [dying] = pool.generate(1, T0);
    const [other] = pool.generate(1, T0 + 1000);
    // The pool sees the later time through another key only; the dying key is not touched yet.
    pool.get(other!.key, T0 + KEEPALIVE_TTL);
    for (const earlier of [T0 + KEEPALIVE_TTL - 1, T0, 0]) {
      expect(outcome(() => pool.get(dying!.key, earlier))).toBe("not-found");
      expect(outcome(() => pool.keepAlive(dying!.key, earlier))).toBe("not-found");
      expect(pool.stats(earlier).total).toBe(1);
    }
  });

  it("never re-blocks a freed key when a call passes an earlier time", () => {
    const pool = makePool();
    const [key] = pool.generate(1, T0);
    pool.acquire(T0);
    expect(pool.get(key!.key, T0 + BLOCK_TTL).state).toBe("free");
    expect(pool.get(key!.key, T0 + BLOCK_TTL - 1).state).toBe("free");
    expect(pool.stats(T0).free).toBe(1);
  });

  it("stamps work done with an earlier time at the latest time the pool has seen", () => {
    const pool = makePool();
    pool.stats(T0 + 5000);
    const [key] = pool.generate(1, T0);
    expect(key).toMatchObject({ createdAt: T0 + 5000, expiresAt: T0 + 5000 + KEEPALIVE_TTL });
    expect(pool.acquire(T0).blockedUntil).toBe(T0 + 5000 + BLOCK_TTL);
    expect(pool.keepAlive(key!.key, T0).expiresAt).toBe(T0 + 5000 + KEEPALIVE_TTL);
  });
});
