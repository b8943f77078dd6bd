import { describe, expect, it } from "vitest";
import type { KeyInfo, KeyPool, KeyPoolErrorCode } from "../../src/pool/index.js";
import { BLOCK_TTL, FOREIGN_LEASE, KEEPALIVE_TTL, T0, errorOf, makePool, outcome } from "./pool-fixtures.js";

const MAX_COOLDOWN = 10_000;

/** A pool at T0 with one blocked, one free and one cooling key (until T0 + 2 s). */
interface Scene {
  readonly pool: KeyPool;
  readonly blocked: KeyInfo;
  readonly free: KeyInfo;
  readonly cooling: KeyInfo;
}

function scene(): Scene {
  const pool = makePool({ maxCooldownMs: MAX_COOLDOWN });
  pool.generate(3, T0);
  const blocked = pool.acquire(T0);
  const parked = pool.acquire(T0);
  const cooling = pool.release(parked.key, parked.leaseId, T0, 2_000);
  const free = pool.acquire(T0);
  pool.release(free.key, free.leaseId, T0);
  return { pool, blocked, free: pool.get(free.key, T0), cooling };
}

interface CooldownCase {
  readonly name: string;
  readonly key: (s: Scene) => string;
  readonly leaseId?: (s: Scene) => string | undefined;
  readonly cooldownMs: number;
  readonly expect: "ok" | KeyPoolErrorCode;
  /** On OK: the key's cooldown deadline afterwards, after T0. */
  readonly until?: number;
}

/** ReleaseKey with a cooldown. On an error the key is exactly as before. */
const CASES = [
  { name: "a blocked key under its lease cools", key: (s) => s.blocked.key, leaseId: (s) => s.blocked.leaseId, cooldownMs: 500, expect: "ok", until: 500 },
  { name: "a blocked key without a lease id cools", key: (s) => s.blocked.key, cooldownMs: 500, expect: "ok", until: 500 },
  { name: "a free key cools too", key: (s) => s.free.key, cooldownMs: 700, expect: "ok", until: 700 },
  { name: "the longest cooldown is allowed", key: (s) => s.free.key, cooldownMs: MAX_COOLDOWN, expect: "ok", until: MAX_COOLDOWN },
  { name: "a cooling key keeps the later deadline (longer asked)", key: (s) => s.cooling.key, cooldownMs: 5_000, expect: "ok", until: 5_000 },
  { name: "a cooling key keeps the later deadline (shorter asked)", key: (s) => s.cooling.key, cooldownMs: 100, expect: "ok", until: 2_000 },
  { name: "a cooling key released without a lease id stays cooling", key: (s) => s.cooling.key, cooldownMs: 0, expect: "ok", until: 2_000 },
  {
    name: "a cooling key released under its old lease: the lease ended", key: (s) => s.cooling.key, leaseId: (s) => s.cooling.key && FOREIGN_LEASE,
    cooldownMs: 0, expect: "failed-precondition",
  },
  { name: "past --max-cooldown", key: (s) => s.free.key, cooldownMs: MAX_COOLDOWN + 1, expect: "invalid-argument" },
  { name: "a negative cooldown", key: (s) => s.blocked.key, cooldownMs: -1, expect: "invalid-argument" },
  { name: "a fractional cooldown", key: (s) => s.blocked.key, cooldownMs: 1.5, expect: "invalid-argument" },
  { name: "a wrong lease id on a blocked key", key: (s) => s.blocked.key, leaseId: () => FOREIGN_LEASE, cooldownMs: 500, expect: "failed-precondition" },
] satisfies CooldownCase[];

describe("KeyPool.release with a cooldown", () => {
  it("parks a key until its cooldown ends, or refuses and changes nothing", () => {
    for (const c of CASES as readonly CooldownCase[]) {
      const s = scene();
      const key = c.key(s);
      const before = s.pool.get(key, T0);
      const result = outcome(() => s.pool.release(key, c.leaseId?.(s), T0, c.cooldownMs));
      expect(result, c.name).toBe(c.expect);
      const after = s.pool.get(key, T0);
      if (c.expect !== "ok") {
        expect(after, c.name).toEqual(before);
        continue;
      }
      expect(after, c.name).toMatchObject({ state: "cooling", cooldownUntil: T0 + c.until!, expiresAt: before.expiresAt, leaseId: undefined });
    }
  });

  it("names --max-cooldown and the lease that ended", () => {
    const s = scene();
    expect(errorOf(() => s.pool.release(s.free.key, undefined, T0, MAX_COOLDOWN + 1)).message).toMatch(/--max-cooldown/);
    expect(errorOf(() => s.pool.release(s.cooling.key, FOREIGN_LEASE, T0)).message).toMatch(/cooling/);
  });

  it("frees the key at exactly cooldown_until, never before, and acquire never picks it while cooling", () => {
    const s = scene();
    // Only the cooling key is left once the free one is taken.
    s.pool.acquire(T0);
    expect(outcome(() => s.pool.acquire(T0 + 1_999))).toBe("not-found");
    expect(errorOf(() => s.pool.acquire(T0 + 1_999)).message).toMatch(/cooling/);
    expect(s.pool.stats(T0 + 1_999)).toMatchObject({ total: 3, free: 0, blocked: 2, cooling: 1 });
    expect(s.pool.nextDeadline()).toBe(T0 + 2_000);
    expect(s.pool.get(s.cooling.key, T0 + 2_000)).toMatchObject({ state: "free", cooldownUntil: undefined });
    expect(s.pool.acquire(T0 + 2_000).key).toBe(s.cooling.key);
  });

  it("frees due cooldowns by sweeping, earliest first, within the budget", () => {
    const pool = makePool({ maxCooldownMs: MAX_COOLDOWN });
    const keys = pool.generate(5, T0);
    [4_000, 1_000, 3_000, 2_000, 5_000].forEach((ms, i) => pool.release(keys[i]!.key, undefined, T0, ms));
    expect(pool.stats(T0)).toMatchObject({ free: 0, cooling: 5 });
    expect(pool.nextDeadline()).toBe(T0 + 1_000);
    expect(pool.sweep(T0 + 2_500, 1)).toBe(1);
    expect(pool.nextDeadline()).toBe(T0 + 2_000); // the earliest went first
    expect(pool.sweep(T0 + 2_500, 10)).toBe(1);
    expect(pool.sweep(T0 + 2_500, 10)).toBe(0);
    expect(pool.nextDeadline()).toBe(T0 + 3_000);
    expect(pool.stats(T0 + 2_500)).toMatchObject({ free: 2, cooling: 3 });
  });

  it("lets a key die while cooling; keepalive and delete work on cooling keys; renew is lease-ended", () => {
    const s = scene();
    expect(s.pool.keepAlive(s.cooling.key, T0 + 1_000)).toMatchObject({ state: "cooling", expiresAt: T0 + 1_000 + KEEPALIVE_TTL });
    expect(s.pool.renew(s.cooling.key, FOREIGN_LEASE, T0 + 1_000)).toMatchObject({ renewed: false, refusal: { reason: "lease-ended" } });
    s.pool.delete(s.cooling.key, T0 + 1_000);
    expect(outcome(() => s.pool.get(s.cooling.key, T0 + 1_000))).toBe("not-found");
    const pool = makePool({ maxCooldownMs: KEEPALIVE_TTL * 2 });
    const [k] = pool.generate(1, T0);
    pool.release(k!.key, undefined, T0, KEEPALIVE_TTL * 2);
    expect(outcome(() => pool.get(k!.key, T0 + KEEPALIVE_TTL))).toBe("not-found");
    expect(pool.stats(T0 + KEEPALIVE_TTL)).toMatchObject({ total: 0, cooling: 0 });
  });

  it("a blocked key released with a cooldown does not count as blocked", () => {
    const s = scene();
    s.pool.release(s.blocked.key, s.blocked.leaseId, T0 + 10, 100);
    expect(s.pool.stats(T0 + 10)).toMatchObject({ total: 3, free: 1, blocked: 0, cooling: 2 });
    expect(s.pool.get(s.blocked.key, T0 + BLOCK_TTL)).toMatchObject({ state: "free" });
  });
});
