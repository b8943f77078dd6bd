import { describe, expect, it } from "vitest";
import type { KeyInfo, KeyPool, LeaseEndReason, RenewOutcome } from "../../src/pool/index.js";
import { BLOCK_TTL, FOREIGN_LEASE, KEEPALIVE_TTL, T0, UNKNOWN_KEY, errorOf, makePool, outcome } from "./pool-fixtures.js";

/** Longest lease of the test pools: ten block TTLs. */
const MAX_LEASE = 10 * BLOCK_TTL;

/** A pool at T0 with one blocked key (acquired at T0), one free key and one deleted key. */
interface Scene {
  readonly pool: KeyPool;
  readonly held: KeyInfo;
  readonly free: KeyInfo;
  readonly deleted: string;
}

function scene(): Scene {
  const pool = makePool({ maxLeaseMs: MAX_LEASE });
  const [deleted] = pool.generate(1, T0);
  pool.delete(deleted!.key, T0);
  const keys = pool.generate(2, T0);
  const held = pool.acquire(T0);
  return { pool, held, free: keys.find((k) => k.key !== held.key)!, deleted: deleted!.key };
}

/** Renews `s.held` every `every` ms from T0 until `until`, as a worker holding it would. */
function holdUntil(s: Scene, until: number, every = BLOCK_TTL / 3): void {
  for (let t = T0 + every; t <= until; t += every) expect(s.pool.renew(s.held.key, s.held.leaseId!, t).renewed).toBe(true);
}

interface RenewCase {
  readonly name: string;
  readonly key: (s: Scene) => string;
  readonly leaseId: (s: Scene) => string;
  /** When the renewal happens, after T0. */
  readonly after?: number;
  /** What happens first, at the renewal's time. */
  readonly prepare?: (s: Scene, now: number) => void;
  readonly expect: "renewed" | LeaseEndReason | "invalid-argument";
  /** A part of the refusal's message that says which case it is. */
  readonly says?: RegExp;
}

const own = (s: Scene): string => s.held.leaseId!;
const heldKey = (s: Scene): string => s.held.key;

/** RenewLease's rules. Renewed: block and life from now; refused: the key exactly as before. */
const CASES = [
  { name: "current lease", key: heldKey, leaseId: own, after: 1000, expect: "renewed" },
  { name: "current lease 1 ms before blocked_until", key: heldKey, leaseId: own, after: BLOCK_TTL - 1, expect: "renewed" },
  { name: "current lease exactly at blocked_until", key: heldKey, leaseId: own, after: BLOCK_TTL, expect: "lease-ended", says: /the key is free/ },
  { name: "ended lease (released)", key: heldKey, leaseId: own, prepare: (s, now) => s.pool.release(s.held.key, own(s), now), expect: "lease-ended", says: /released/ },
  { name: "ended lease (its block ran out)", key: heldKey, leaseId: own, after: BLOCK_TTL + 5, expect: "lease-ended", says: /ran out/ },
  {
    name: "stale lease (the key was acquired again)", key: heldKey, leaseId: own, after: BLOCK_TTL,
    prepare: (s, now) => [s.pool.acquire(now), s.pool.acquire(now)], expect: "lease-ended", says: /blocked under another lease/,
  },
  { name: "another lease id", key: heldKey, leaseId: () => FOREIGN_LEASE, expect: "lease-ended", says: /blocked under another lease/ },
  { name: "free key with some lease id", key: (s) => s.free.key, leaseId: () => FOREIGN_LEASE, expect: "lease-ended", says: /the key is free/ },
  { name: "deleted key", key: (s) => s.deleted, leaseId: own, expect: "not-found" },
  { name: "deleted while held", key: heldKey, leaseId: own, prepare: (s, now) => s.pool.delete(s.held.key, now), expect: "not-found" },
  { name: "unknown key", key: () => UNKNOWN_KEY, leaseId: own, expect: "not-found" },
  { name: "dead key (its life ran out)", key: heldKey, leaseId: own, after: KEEPALIVE_TTL, expect: "not-found", says: /expired/ },
  { name: "malformed key", key: () => "kp_shrt", leaseId: own, expect: "invalid-argument" },
  { name: "malformed lease id", key: heldKey, leaseId: () => "lease-1", expect: "invalid-argument" },
  { name: "empty lease id (required)", key: heldKey, leaseId: () => "", expect: "invalid-argument" },
  {
    name: "the renewal that reaches exactly acquired_at + max lease", key: heldKey, leaseId: own, after: MAX_LEASE - BLOCK_TTL,
    prepare: (s, now) => holdUntil(s, now - 1, BLOCK_TTL / 2), expect: "renewed",
  },
  {
    name: "a renewal past acquired_at + max lease", key: heldKey, leaseId: own, after: MAX_LEASE - BLOCK_TTL + 1,
    prepare: (s, now) => holdUntil(s, now - 1, BLOCK_TTL / 2), expect: "max-lease", says: /--max-lease/,
  },
] satisfies RenewCase[];

/** The key as `get` sees it, or undefined when the pool does not hold it. */
function look(pool: KeyPool, key: string, now: number): KeyInfo | undefined {
  return outcome(() => pool.get(key, now)) === "ok" ? pool.get(key, now) : undefined;
}

function reasonOf(result: RenewOutcome | "invalid-argument"): RenewCase["expect"] {
  if (result === "invalid-argument") return result;
  return result.renewed ? "renewed" : result.refusal.reason;
}

describe("KeyPool.renew", () => {
  it("renews only the current lease, or refuses with the documented reason and changes nothing", () => {
    for (const c of CASES) {
      const s = scene();
      const now = T0 + (c.after ?? 0);
      c.prepare?.(s, now);
      const key = c.key(s);
      const before = look(s.pool, key, now);
      let result: RenewOutcome | "invalid-argument";
      try {
        result = s.pool.renew(key, c.leaseId(s), now);
      } catch (err) {
        expect(err, c.name).toMatchObject({ name: "KeyPoolError", code: "invalid-argument" });
        result = "invalid-argument";
      }
      expect(reasonOf(result), c.name).toBe(c.expect);
      const after = look(s.pool, key, now);
      if (c.expect === "renewed") {
        const renewed = { ...before, blockedUntil: now + BLOCK_TTL, expiresAt: now + KEEPALIVE_TTL };
        expect(after, c.name).toEqual(renewed);
        expect(result, c.name).toEqual({ renewed: true, info: renewed });
      } else {
        expect(after, c.name).toEqual(before);
      }
      if (c.says && result !== "invalid-argument" && !result.renewed) expect(result.refusal.message, c.name).toMatch(c.says);
    }
  });

  it("keeps the lease id, the fencing token and acquired_at through renewals", () => {
    const s = scene();
    holdUntil(s, T0 + 5 * BLOCK_TTL);
    expect(s.pool.get(s.held.key, T0 + 5 * BLOCK_TTL)).toMatchObject({
      state: "blocked", leaseId: s.held.leaseId, fencingToken: s.held.fencingToken, acquiredAt: T0,
    });
  });

  it("ends a renewed block at exactly renewal + block TTL, with no call needed, and the key goes to the next caller", () => {
    const s = scene();
    s.pool.delete(s.free.key, T0); // the held key is the pool's only key
    const renewedAt = T0 + BLOCK_TTL - 1;
    s.pool.renew(s.held.key, own(s), renewedAt);
    expect(outcome(() => s.pool.acquire(renewedAt + BLOCK_TTL - 1))).toBe("not-found");
    expect(s.pool.stats(renewedAt + BLOCK_TTL - 1)).toMatchObject({ blocked: 1 });
    const next = s.pool.acquire(renewedAt + BLOCK_TTL);
    expect(next).toMatchObject({ key: s.held.key, fencingToken: s.held.fencingToken! + 1 });
    expect(next.leaseId).not.toBe(s.held.leaseId);
  });

  it("keeps the blocks in deadline order: a renewed key is freed after keys acquired before its renewal", () => {
    const pool = makePool();
    pool.generate(3, T0);
    const [a, b, c] = [pool.acquire(T0), pool.acquire(T0 + 10), pool.acquire(T0 + 20)];
    pool.renew(a.key, a.leaseId!, T0 + 30);
    // Sweeping frees blocks head first: if `a` were still at the head, b and c would wait behind it.
    expect(pool.sweep(T0 + 20 + BLOCK_TTL, 10)).toBe(2);
    expect(pool.stats(T0 + 20 + BLOCK_TTL)).toMatchObject({ free: 2, blocked: 1 });
    expect(pool.get(a.key, T0 + 20 + BLOCK_TTL)).toMatchObject({ state: "blocked" });
    expect(pool.nextDeadline()).toBe(T0 + 30 + BLOCK_TTL);
    expect([b.key, c.key].map((k) => pool.get(k, T0 + 20 + BLOCK_TTL).state)).toEqual(["free", "free"]);
  });

  it("refuses past max lease with a message naming the flag, and the block still ends at its deadline", () => {
    const s = scene();
    holdUntil(s, T0 + MAX_LEASE - BLOCK_TTL, BLOCK_TTL / 2);
    const last = s.pool.get(s.held.key, T0 + MAX_LEASE - 1);
    expect(last.blockedUntil).toBe(T0 + MAX_LEASE);
    const refused = s.pool.renew(s.held.key, own(s), T0 + MAX_LEASE - 1);
    expect(refused).toMatchObject({ renewed: false, refusal: { reason: "max-lease", message: expect.stringMatching(/--max-lease/) } });
    expect(s.pool.get(s.held.key, T0 + MAX_LEASE - 1)).toEqual(last);
    expect(s.pool.get(s.held.key, T0 + MAX_LEASE).state).toBe("free");
  });

  it("defaults the max lease to 24 hours", () => {
    const pool = makePool({ keepaliveTtlMs: 48 * 3600_000 });
    pool.generate(1, T0);
    const got = pool.acquire(T0);
    const day = 24 * 3600_000;
    for (let t = T0 + BLOCK_TTL / 2; t + BLOCK_TTL <= T0 + day; t += BLOCK_TTL / 2) pool.renew(got.key, got.leaseId!, t);
    expect(pool.renew(got.key, got.leaseId!, T0 + day - BLOCK_TTL + 1)).toMatchObject({ renewed: false, refusal: { reason: "max-lease" } });
  });

  it("names the field of a malformed entry and never echoes the key", () => {
    const pool = makePool();
    expect(errorOf(() => pool.renew("kp_shrt", FOREIGN_LEASE, T0, "leases[3]")).message).toMatch(/^leases\[3\]\.key is malformed/);
    expect(errorOf(() => pool.renew(UNKNOWN_KEY, "", T0, "leases[0]")).message).toMatch(/^leases\[0\]\.lease_id is empty/);
    const refused = pool.renew(UNKNOWN_KEY, FOREIGN_LEASE, T0);
    expect(refused).toMatchObject({ renewed: false, refusal: { reason: "not-found" } });
    expect(JSON.stringify(refused)).not.toContain(UNKNOWN_KEY);
  });
});

describe("fencing tokens", () => {
  it("grow strictly on every acquire of a key, over 1,000 acquisitions, and renewals keep them", () => {
    const pool = makePool();
    const [only] = pool.generate(1, T0);
    let last = only!.fencingToken!;
    expect(last).toBe(0);
    for (let i = 0; i < 1000; i++) {
      const now = T0 + i * 10;
      const got = pool.acquire(now);
      expect(got.fencingToken, `acquisition ${i}`).toBeGreaterThan(last);
      if (i % 2 === 0) expect(pool.renew(got.key, got.leaseId!, now + 1)).toMatchObject({ info: { fencingToken: got.fencingToken } });
      last = got.fencingToken!;
      pool.release(got.key, got.leaseId, now + 2);
      expect(pool.get(got.key, now + 2).fencingToken, "a free key shows its latest lease's token").toBe(last);
    }
  });

  it("also grow when a block runs out instead of being released", () => {
    const pool = makePool();
    pool.generate(1, T0);
    const first = pool.acquire(T0);
    const second = pool.acquire(T0 + BLOCK_TTL);
    expect(second.fencingToken).toBe(first.fencingToken! + 1);
  });
});
