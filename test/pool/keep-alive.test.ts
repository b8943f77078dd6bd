import { describe, expect, it } from "vitest";
import type { KeyInfo, KeyPool, KeyPoolErrorCode } from "../../src/pool/index.js";
import { BLOCK_TTL, KEEPALIVE_TTL, T0, UNKNOWN_KEY, makePool, outcome } from "./pool-fixtures.js";

interface KeepAliveCase {
  readonly name: string;
  /** Prepares the pool at T0 and names the key to keep alive. */
  readonly key: (pool: KeyPool) => string;
  /** When the keepalive happens, after T0. */
  readonly after: number;
  /** What the key looks like afterwards (besides its new life), or the error. */
  readonly expect: Pick<KeyInfo, "state" | "blockedUntil"> | KeyPoolErrorCode;
}

const freeKey = (pool: KeyPool) => pool.generate(1, T0)[0]!.key;
const blockedKey = (pool: KeyPool) => (pool.generate(1, T0), pool.acquire(T0).key);

/** KeepAliveKey's rules: life = now + keepalive TTL; the block is neither ended nor extended. */
const CASES = [
  { name: "free key", key: freeKey, after: 1000, expect: { state: "free", blockedUntil: undefined } },
  { name: "blocked key", key: blockedKey, after: 1000, expect: { state: "blocked", blockedUntil: T0 + BLOCK_TTL } },
  { name: "blocked key 1 ms before its block ends", key: blockedKey, after: BLOCK_TTL - 1, expect: { state: "blocked", blockedUntil: T0 + BLOCK_TTL } },
  { name: "key whose block just ended", key: blockedKey, after: BLOCK_TTL, expect: { state: "free", blockedUntil: undefined } },
  { name: "free key 1 ms before it dies", key: freeKey, after: KEEPALIVE_TTL - 1, expect: { state: "free", blockedUntil: undefined } },
  { name: "free key at the instant it dies", key: freeKey, after: KEEPALIVE_TTL, expect: "not-found" },
  { name: "blocked key at the instant it dies", key: blockedKey, after: KEEPALIVE_TTL, expect: "not-found" },
  { name: "unknown key", key: () => UNKNOWN_KEY, after: 0, expect: "not-found" },
  { name: "deleted key", key: (pool) => { const k = freeKey(pool); pool.delete(k, T0); return k; }, after: 0, expect: "not-found" },
  { name: "malformed key", key: () => `kp_ ${"!".repeat(23)}`, after: 0, expect: "invalid-argument" },
] satisfies KeepAliveCase[];

describe("KeyPool.keepAlive", () => {
  it("sets a live key's life to now + keepalive TTL and leaves its block alone", () => {
    for (const c of CASES) {
      const pool = makePool();
      const key = c.key(pool);
      const now = T0 + c.after;
      if (typeof c.expect === "string") {
        expect(outcome(() => pool.keepAlive(key, now)), c.name).toBe(c.expect);
        continue;
      }
      const before = pool.get(key, now);
      const after = pool.keepAlive(key, now);
      expect(after, c.name).toEqual({ ...before, ...c.expect, expiresAt: now + KEEPALIVE_TTL });
      expect(pool.get(key, now), c.name).toEqual(after);
    }
  });

  it("keeps a key alive past its first deadline until exactly its new one", () => {
    const pool = makePool();
    const [key] = pool.generate(1, T0);
    pool.keepAlive(key!.key, T0 + KEEPALIVE_TTL - 1);
    const newDeath = T0 + 2 * KEEPALIVE_TTL - 1;
    expect(pool.get(key!.key, newDeath - 1).expiresAt).toBe(newDeath);
    expect(pool.stats(newDeath - 1).total).toBe(1);
    expect(outcome(() => pool.keepAlive(key!.key, newDeath))).toBe("not-found");
    expect(pool.stats(newDeath).total).toBe(0);
  });

  it("keeps a blocked key blocked until its original deadline, not one block TTL after the keepalive", () => {
    const pool = makePool();
    pool.generate(1, T0);
    const got = pool.acquire(T0);
    pool.keepAlive(got.key, T0 + BLOCK_TTL - 1);
    expect(outcome(() => pool.acquire(T0 + BLOCK_TTL - 1))).toBe("not-found");
    expect(pool.acquire(T0 + BLOCK_TTL).key).toBe(got.key);
  });

  it("does not refresh a key's life when it is released or its block runs out", () => {
    const pool = makePool();
    pool.generate(2, T0);
    const released = pool.acquire(T0 + 100);
    const lapsed = pool.acquire(T0 + 100);
    expect(pool.release(released.key, released.leaseId, T0 + 200).expiresAt).toBe(T0 + KEEPALIVE_TTL);
    expect(pool.get(lapsed.key, T0 + 100 + BLOCK_TTL)).toMatchObject({ state: "free", expiresAt: T0 + KEEPALIVE_TTL });
    expect(pool.stats(T0 + KEEPALIVE_TTL).total).toBe(0);
  });
});
