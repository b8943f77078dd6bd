import { describe, expect, it } from "vitest";
import type { KeyInfo, KeyPool, KeyPoolErrorCode } from "../../src/pool/index.js";
import {
  BLOCK_TTL, FOREIGN_LEASE, KEEPALIVE_TTL, T0, UNKNOWN_KEY, errorOf, makePool, outcome,
} from "./pool-fixtures.js";

/** A pool at T0 with one blocked key, one free key and one deleted key. */
interface Scene {
  readonly pool: KeyPool;
  readonly blocked: KeyInfo;
  readonly free: KeyInfo;
  readonly deleted: string;
}

function scene(): Scene {
  const pool = makePool();
  const [deleted] = pool.generate(1, T0);
  pool.delete(deleted!.key, T0);
  const keys = pool.generate(2, T0);
  const blocked = pool.acquire(T0);
  const free = keys.find((k) => k.key !== blocked.key)!;
  return { pool, blocked, free, deleted: deleted!.key };
}

interface ReleaseCase {
  readonly name: string;
  readonly key: (s: Scene) => string;
  readonly leaseId: (s: Scene) => string | undefined;
  /** When the release happens, after T0. */
  readonly after?: number;
  /** What happens first, at the release's time. */
  readonly prepare?: (s: Scene, now: number) => void;
  readonly expect: "ok" | KeyPoolErrorCode;
}

const noLease = () => undefined;
const ownLease = (s: Scene) => s.blocked.leaseId;

/** ReleaseKey's rules. On OK the key is free afterwards; on an error it is exactly as before. */
const CASES = [
  { name: "blocked key with its lease id", key: (s) => s.blocked.key, leaseId: ownLease, expect: "ok" },
  { name: "blocked key without a lease id", key: (s) => s.blocked.key, leaseId: noLease, expect: "ok" },
  { name: "blocked key with an empty lease id (unset)", key: (s) => s.blocked.key, leaseId: () => "", expect: "ok" },
  {
    name: "blocked key with another lease id", key: (s) => s.blocked.key, leaseId: () => FOREIGN_LEASE,
    expect: "failed-precondition",
  },
  { name: "free key without a lease id", key: (s) => s.free.key, leaseId: noLease, expect: "ok" },
  { name: "free key with some well-formed lease id", key: (s) => s.free.key, leaseId: () => FOREIGN_LEASE, expect: "ok" },
  { name: "free key with the lease id of another key", key: (s) => s.free.key, leaseId: ownLease, expect: "ok" },
  { name: "unknown key", key: () => UNKNOWN_KEY, leaseId: noLease, expect: "not-found" },
  { name: "deleted key", key: (s) => s.deleted, leaseId: noLease, expect: "not-found" },
  { name: "expired free key", key: (s) => s.free.key, leaseId: noLease, after: KEEPALIVE_TTL, expect: "not-found" },
  { name: "expired blocked key", key: (s) => s.blocked.key, leaseId: ownLease, after: KEEPALIVE_TTL, expect: "not-found" },
  { name: "malformed key", key: () => "kp_shrt", leaseId: noLease, expect: "invalid-argument" },
  { name: "malformed lease id", key: (s) => s.blocked.key, leaseId: () => "lease-1", expect: "invalid-argument" },
  { name: "malformed lease id on an unknown key", key: () => UNKNOWN_KEY, leaseId: () => "x", expect: "invalid-argument" },
  { name: "own lease after the block ran out", key: (s) => s.blocked.key, leaseId: ownLease, after: BLOCK_TTL, expect: "ok" },
  {
    name: "own lease after the block ran out and the key was acquired again",
    key: (s) => s.blocked.key,
    leaseId: ownLease,
    after: BLOCK_TTL,
    prepare: (s, now) => [s.pool.acquire(now), s.pool.acquire(now)],
    expect: "failed-precondition",
  },
] satisfies ReleaseCase[];

describe("KeyPool.release", () => {
  it("frees a key or refuses with the documented code, leaving the key untouched on refusal", () => {
    for (const c of CASES) {
      const s = scene();
      const now = T0 + (c.after ?? 0);
      c.prepare?.(s, now);
      const key = c.key(s);
      const before = outcome(() => s.pool.get(key, now)) === "ok" ? s.pool.get(key, now) : undefined;
      const result = outcome(() => s.pool.release(key, c.leaseId(s), now));
      expect(result, c.name).toBe(c.expect);
      const after = before && s.pool.get(key, now);
      if (c.expect === "ok") {
        expect(after, c.name).toEqual({ ...before, state: "free", leaseId: undefined, blockedUntil: undefined, acquiredAt: undefined });
      } else {
        expect(after, c.name).toEqual(before);
      }
    }
  });

  it("answers OK with the key as it now is: free, its life unchanged", () => {
    const s = scene();
    expect(s.pool.release(s.blocked.key, s.blocked.leaseId, T0 + 1000)).toEqual({
      key: s.blocked.key, state: "free", leaseId: undefined, blockedUntil: undefined,
      createdAt: T0, expiresAt: T0 + KEEPALIVE_TTL, fencingToken: 1, acquiredAt: undefined,
    });
    expect(outcome(() => s.pool.get(s.blocked.key, T0 + KEEPALIVE_TTL))).toBe("not-found");
  });

  it("explains a stale lease and an unknown key without echoing the key", () => {
    const s = scene();
    const stale = errorOf(() => s.pool.release(s.blocked.key, FOREIGN_LEASE, T0));
    expect(stale.message).toMatch(/not the key's current lease/);
    const unknown = errorOf(() => s.pool.release(UNKNOWN_KEY, undefined, T0));
    expect(unknown.message).toMatch(/^no such key/);
    expect(unknown.message).not.toContain(UNKNOWN_KEY);
  });

  it("never lets a key that was released twice be handed out twice", () => {
    const pool = makePool();
    pool.generate(5, T0);
    const got = pool.acquire(T0);
    pool.release(got.key, got.leaseId, T0);
    pool.release(got.key, got.leaseId, T0);
    pool.release(got.key, undefined, T0);
    pool.release(got.key, FOREIGN_LEASE, T0);
    const handedOut = Array.from({ length: 5 }, () => pool.acquire(T0).key);
    expect(new Set(handedOut).size).toBe(5);
    expect(outcome(() => pool.acquire(T0))).toBe("not-found");
    expect(pool.stats(T0)).toMatchObject({ total: 5, free: 0, blocked: 5 });
  });

  it("does not let a stale release free the key for its new holder", () => {
    const pool = makePool();
    const [only] = pool.generate(1, T0);
    const first = pool.acquire(T0);
    const second = pool.acquire(T0 + BLOCK_TTL);
    expect(second.key).toBe(only!.key);
    expect(outcome(() => pool.release(only!.key, first.leaseId, T0 + BLOCK_TTL + 1))).toBe("failed-precondition");
    expect(pool.get(only!.key, T0 + BLOCK_TTL + 1)).toMatchObject({ state: "blocked", leaseId: second.leaseId });
    expect(outcome(() => pool.acquire(T0 + BLOCK_TTL + 1))).toBe("not-found");
    expect(pool.release(only!.key, second.leaseId, T0 + BLOCK_TTL + 2).state).toBe("free");
  });
});
