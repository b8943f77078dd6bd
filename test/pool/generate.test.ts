import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_GENERATE } from "../../src/pool/index.js";
import type { KeyPoolErrorCode } from "../../src/pool/index.js";
import { seededRandom, type Random } from "../../src/random.js";
import { KEEPALIVE_TTL, T0, errorOf, makePool, outcome } from "./pool-fixtures.js";

const KEY_SHAPE = /^kp_[A-Za-z0-9_-]{24}$/;

interface CountCase {
  readonly count: number;
  readonly expect: number | KeyPoolErrorCode;
}

/** What GenerateKeys does with each requested count. */
const COUNTS = [
  { count: 0, expect: 1 },
  { count: 1, expect: 1 },
  { count: 7, expect: 7 },
  { count: MAX_GENERATE, expect: MAX_GENERATE },
  { count: MAX_GENERATE + 1, expect: "invalid-argument" },
  { count: 2 ** 32 - 1, expect: "invalid-argument" },
  { count: -1, expect: "invalid-argument" },
  { count: 1.5, expect: "invalid-argument" },
  { count: Number.NaN, expect: "invalid-argument" },
] satisfies CountCase[];

/** A Random whose `fill` writes `bytes` at the start of every buffer (zeros after). */
function fillWith(bytes: Uint8Array): Random {
  return {
    int: () => 0,
    fill: (out) => {
      out.fill(0);
      out.set(bytes);
    },
  };
}

describe("KeyPool.generate", () => {
  it("treats count 0 as 1 and refuses more than 1000 keys at once", () => {
    for (const c of COUNTS) {
      const pool = makePool({ maxKeys: 5000 });
      if (typeof c.expect === "number") {
        expect(pool.generate(c.count, T0), `count ${c.count}`).toHaveLength(c.expect);
      } else {
        expect(outcome(() => pool.generate(c.count, T0)), `count ${c.count}`).toBe(c.expect);
        expect(pool.stats(T0).total, `count ${c.count}`).toBe(0);
      }
    }
  });

  it("names the limit when a count is too large", () => {
    expect(errorOf(() => makePool().generate(1001, T0)).message).toContain("1000");
  });

  it("makes distinct keys of the documented shape: kp_ and 24 URL-safe base64 characters", () => {
    const keys = makePool().generate(1000, T0).map((k) => k.key);
    for (const key of keys) expect(key).toMatch(KEY_SHAPE);
    expect(new Set(keys).size).toBe(1000);
  });

  it("derives each key from the bytes the injected Random.fill writes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 36, maxLength: 36 }), (bytes) => {
        fc.pre(bytes.subarray(0, 18).some((b, i) => b !== bytes[18 + i]));
        const [first, second] = makePool({}, fillWith(bytes)).generate(2, T0);
        expect(first!.key).toBe(`kp_${Buffer.from(bytes.subarray(0, 18)).toString("base64url")}`);
        expect(second!.key).toBe(`kp_${Buffer.from(bytes.subarray(18, 36)).toString("base64url")}`);
      }),
      { seed: 20_240_601, numRuns: 64 },
    );
  });

  it("hands out new keys free, alive for one keepalive TTL from creation", () => {
    const pool = makePool();
    const infos = pool.generate(3, T0 + 5);
    for (const info of infos) {
      expect(info).toEqual({
        key: info.key, state: "free", leaseId: undefined, blockedUntil: undefined,
        createdAt: T0 + 5, expiresAt: T0 + 5 + KEEPALIVE_TTL, fencingToken: 0, acquiredAt: undefined,
      });
    }
    for (const { key } of infos) expect(pool.get(key, T0 + 5 + KEEPALIVE_TTL - 1).state).toBe("free");
    for (const { key } of infos) expect(outcome(() => pool.get(key, T0 + 5 + KEEPALIVE_TTL))).toBe("not-found");
  });

  it("refuses a batch that would exceed max-keys and adds none of it", () => {
    const pool = makePool({ maxKeys: 10 });
    pool.generate(8, T0);
    const err = errorOf(() => pool.generate(3, T0));
    expect(err.code).toBe("resource-exhausted");
    expect(err.message).toContain("--max-keys");
    expect(pool.stats(T0).total).toBe(8);
    expect(pool.size).toBe(8);
    expect(pool.generate(2, T0)).toHaveLength(2);
    expect(outcome(() => pool.generate(0, T0))).toBe("resource-exhausted");
  });

  it("counts only live keys against max-keys: deleted and expired keys make room", () => {
    const pool = makePool({ maxKeys: 10 });
    const [gone] = pool.generate(10, T0);
    pool.delete(gone!.key, T0);
    expect(pool.generate(1, T0)).toHaveLength(1);
    expect(pool.generate(10, T0 + KEEPALIVE_TTL)).toHaveLength(10);
  });

  it("makes room for new keys even when more dead keys are still blocked than one request's budget", () => {
    // Regression: ending the blocks of dead keys used to eat the catch-up budget before any dead
    // key was reclaimed, so a pool of 100 dead keys still refused a new one as full.
    const pool = makePool({ maxKeys: 100 }, seededRandom(2));
    pool.generate(100, T0);
    for (let i = 0; i < 100; i++) pool.acquire(T0);
    const later = T0 + KEEPALIVE_TTL; // past every block (BLOCK_TTL is shorter) and every life
    expect(pool.generate(1, later)).toHaveLength(1);
    expect(pool.generate(99, later)).toHaveLength(99);
    expect(pool.stats(later)).toMatchObject({ total: 100, free: 100, blocked: 0 });
  });
});
