import { describe, expect, it } from "vitest";
import type { KeyPool, KeyPoolErrorCode } from "../../src/pool/index.js";
import { BLOCK_TTL, FOREIGN_LEASE, KEEPALIVE_TTL, T0, UNKNOWN_KEY, makePool, outcome } from "./pool-fixtures.js";

interface DeleteCase {
  readonly name: string;
  /** Prepares the pool at T0 and names the key to delete. */
  readonly key: (pool: KeyPool) => string;
  /** When the delete happens, after T0. */
  readonly after?: number;
  readonly expect: "ok" | KeyPoolErrorCode;
}

const freeKey = (pool: KeyPool) => pool.generate(1, T0)[0]!.key;
const blockedKey = (pool: KeyPool) => (pool.generate(1, T0), pool.acquire(T0).key);

/** DeleteKey's rules: it purges a key in any state, and only a key the pool holds. */
const CASES = [
  { name: "free key", key: freeKey, expect: "ok" },
  { name: "blocked key", key: blockedKey, expect: "ok" },
  { name: "key whose block ran out", key: blockedKey, after: BLOCK_TTL, expect: "ok" },
  { name: "unknown key", key: () => UNKNOWN_KEY, expect: "not-found" },
  { name: "key deleted before", key: (pool) => { const k = freeKey(pool); pool.delete(k, T0); return k; }, expect: "not-found" },
  { name: "expired free key", key: freeKey, after: KEEPALIVE_TTL, expect: "not-found" },
  { name: "expired blocked key", key: blockedKey, after: KEEPALIVE_TTL, expect: "not-found" },
  { name: "malformed key", key: () => "kp_", expect: "invalid-argument" },
] satisfies DeleteCase[];

describe("KeyPool.delete", () => {
  it("purges a key in any state and answers NOT_FOUND for keys the pool does not hold", () => {
    for (const c of CASES) {
      const pool = makePool();
      const key = c.key(pool);
      const now = T0 + (c.after ?? 0);
      expect(outcome(() => pool.delete(key, now)), c.name).toBe(c.expect);
      if (c.expect !== "ok") continue;
      expect(outcome(() => pool.get(key, now)), c.name).toBe("not-found");
      expect(outcome(() => pool.release(key, undefined, now)), c.name).toBe("not-found");
      expect(outcome(() => pool.keepAlive(key, now)), c.name).toBe("not-found");
      expect(outcome(() => pool.acquire(now)), c.name).toBe("not-found");
      expect(pool.stats(now), c.name).toMatchObject({ total: 0, free: 0, blocked: 0 });
      expect(pool.size, c.name).toBe(0);
    }
  });

  it("never brings a deleted blocked key back when its block runs out", () => {
    const pool = makePool();
    const [key] = pool.generate(1, T0);
    const got = pool.acquire(T0);
    pool.delete(key!.key, T0 + 1);
    for (const at of [T0 + BLOCK_TTL, T0 + BLOCK_TTL + 1]) {
      expect(pool.sweep(at, 100)).toBe(0);
      expect(pool.stats(at)).toMatchObject({ total: 0, free: 0, blocked: 0 });
      expect(outcome(() => pool.get(key!.key, at))).toBe("not-found");
      expect(outcome(() => pool.release(key!.key, got.leaseId, at))).toBe("not-found");
      expect(outcome(() => pool.acquire(at))).toBe("not-found");
    }
  });

  it("does not let a deleted key's old block end the block of a key generated after it", () => {
    const pool = makePool();
    pool.generate(1, T0);
    const gone = pool.acquire(T0);
    pool.delete(gone.key, T0 + 10);
    pool.generate(1, T0 + 20);
    const next = pool.acquire(T0 + 30);
    expect(pool.get(next.key, T0 + BLOCK_TTL)).toMatchObject({ state: "blocked", leaseId: next.leaseId });
    expect(pool.stats(T0 + BLOCK_TTL)).toMatchObject({ total: 1, free: 0, blocked: 1 });
    expect(outcome(() => pool.release(next.key, FOREIGN_LEASE, T0 + BLOCK_TTL))).toBe("failed-precondition");
    expect(pool.get(next.key, T0 + 30 + BLOCK_TTL).state).toBe("free");
  });

  it("does not let a deleted key's old life end the life of a key generated after it", () => {
    const pool = makePool();
    const [gone] = pool.generate(1, T0);
    pool.delete(gone!.key, T0 + 10);
    const [next] = pool.generate(1, T0 + 20);
    expect(pool.get(next!.key, T0 + KEEPALIVE_TTL).state).toBe("free");
    expect(pool.stats(T0 + KEEPALIVE_TTL).total).toBe(1);
    expect(outcome(() => pool.get(next!.key, T0 + 20 + KEEPALIVE_TTL))).toBe("not-found");
  });
});
