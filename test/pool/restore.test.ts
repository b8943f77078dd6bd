import { describe, expect, it } from "vitest";
import { BLOCK_TTL, FOREIGN_LEASE, KEEPALIVE_TTL, T0, makePool, outcome } from "./pool-fixtures.js";

const KEY_A = `kp_${"A".repeat(23)}a`;
const KEY_B = `kp_${"B".repeat(23)}b`;
const LEASE = "R".repeat(24);

describe("KeyPool.restore", () => {
  it("brings back a blocked key with its lease, blocked until its recorded deadline", () => {
    const pool = makePool();
    const now = T0 + 1000;
    const record = {
      key: KEY_A, state: "blocked", leaseId: LEASE, blockedUntil: now + 10, expiresAt: now + KEEPALIVE_TTL, createdAt: T0,
      fencingToken: 7, acquiredAt: now + 10 - BLOCK_TTL,
    } as const;
    pool.restore(record, now);
    expect(pool.get(KEY_A, now)).toEqual(record);
    expect(outcome(() => pool.release(KEY_A, FOREIGN_LEASE, now))).toBe("failed-precondition");
    expect(outcome(() => pool.acquire(now + 9))).toBe("not-found");
    expect(pool.acquire(now + 10)).toMatchObject({ key: KEY_A, fencingToken: 8, acquiredAt: now + 10 });
  });

  it("never reports a blocked key as cooling, also when its lease began after now (a clock stepped back across a restart)", () => {
    // While blocked, a key's acquiredAt shares its cell with cooldownUntil: a later-than-now
    // acquiredAt must not read as a cooldown, during the block or after it ends.
    const pool = makePool();
    const record = {
      key: KEY_A, state: "blocked", leaseId: LEASE, blockedUntil: T0 + 100, expiresAt: T0 + KEEPALIVE_TTL, createdAt: T0 - 5000,
      fencingToken: 3, acquiredAt: T0 + 50,
    } as const;
    pool.restore(record, T0);
    expect(pool.get(KEY_A, T0)).toEqual(record);
    expect(pool.list({ state: "cooling", pageSize: 10, pageToken: "" }, T0).keys).toEqual([]);
    expect(pool.release(KEY_A, LEASE, T0 + 1)).toMatchObject({ state: "free", cooldownUntil: undefined, acquiredAt: undefined });
    expect(pool.stats(T0 + 1)).toMatchObject({ free: 1, blocked: 0, cooling: 0 });
    expect(pool.acquire(T0 + 1)).toMatchObject({ key: KEY_A, fencingToken: 4, acquiredAt: T0 + 1 });
    expect(pool.release(KEY_A, undefined, T0 + 2, 500)).toMatchObject({ state: "cooling", cooldownUntil: T0 + 502, acquiredAt: undefined });
  });

  it("keeps a free key's last fencing token, so its next lease's token is greater", () => {
    const pool = makePool();
    pool.restore({ key: KEY_A, state: "free", expiresAt: T0 + KEEPALIVE_TTL, createdAt: T0, fencingToken: 41 }, T0);
    expect(pool.acquire(T0).fencingToken).toBe(42);
  });

  it("dates a blocked record without acquiredAt (an older record) one block TTL before its deadline", () => {
    const pool = makePool();
    pool.restore({ key: KEY_A, state: "blocked", leaseId: LEASE, blockedUntil: T0 + 10, expiresAt: T0 + KEEPALIVE_TTL, createdAt: T0 }, T0);
    expect(pool.get(KEY_A, T0)).toMatchObject({ fencingToken: 0, acquiredAt: T0 + 10 - BLOCK_TTL });
  });

  it("brings back a key whose block ended while the store was down as free", () => {
    const pool = makePool();
    const now = T0 + BLOCK_TTL;
    pool.restore({ key: KEY_A, state: "blocked", leaseId: LEASE, blockedUntil: now, expiresAt: now + KEEPALIVE_TTL, createdAt: T0 }, now);
    expect(pool.get(KEY_A, now)).toMatchObject({ state: "free", leaseId: undefined, blockedUntil: undefined });
    expect(pool.stats(now)).toMatchObject({ total: 1, free: 1, blocked: 0 });
  });

  it("treats restored keys like generated ones: counted, leased, kept alive and expired", () => {
    const pool = makePool();
    pool.restore({ key: KEY_A, state: "free", expiresAt: T0 + 100, createdAt: T0 }, T0);
    pool.restore({ key: KEY_B, state: "free", expiresAt: T0 + 200, createdAt: T0 }, T0);
    expect(pool.stats(T0)).toMatchObject({ total: 2, free: 2, blocked: 0 });
    expect(pool.keepAlive(KEY_B, T0 + 50).expiresAt).toBe(T0 + 50 + KEEPALIVE_TTL);
    expect(pool.stats(T0 + 100)).toMatchObject({ total: 1, free: 1 });
    expect(outcome(() => pool.get(KEY_A, T0 + 100))).toBe("not-found");
    expect(pool.acquire(T0 + 100).key).toBe(KEY_B);
  });
});
