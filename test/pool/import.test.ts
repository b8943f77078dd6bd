import { describe, expect, it } from "vitest";
import type { KeyPool, KeyPoolErrorCode } from "../../src/pool/index.js";
import { KEEPALIVE_TTL, T0, errorOf, makePool, outcome } from "./pool-fixtures.js";

const SECRET = "sk-proj-0123456789abcdefABCDEF";

interface ImportCase {
  readonly name: string;
  /** The batch, given the key the pool already holds. */
  readonly keys: (held: string) => string[];
  readonly expect: "ok" | KeyPoolErrorCode;
  /** The message, for an error. */
  readonly message?: RegExp;
}

const batch = (n: number): string[] => Array.from({ length: n }, (_, i) => `${SECRET}-${i}`);

/** ImportKeys: all or none, errors naming the index. */
const CASES = [
  { name: "one imported secret", keys: () => [SECRET], expect: "ok" },
  { name: "a thousand keys", keys: () => batch(1000), expect: "ok" },
  { name: "a key of the generated shape", keys: () => [`kp_${"A".repeat(24)}`], expect: "ok" },
  { name: "no keys", keys: () => [], expect: "invalid-argument", message: /between 1 and 1000/ },
  { name: "1001 keys", keys: () => batch(1001), expect: "invalid-argument", message: /between 1 and 1000 keys \(got 1001\)/ },
  { name: "a key too short at index 2", keys: () => [...batch(2), "short"], expect: "invalid-argument", message: /^keys\[2\] is malformed \(got 5 characters\)/ },
  { name: "a key with a space at index 1", keys: () => [SECRET, "has space inside"], expect: "invalid-argument", message: /^keys\[1\] is malformed .*character 4/ },
  { name: "a key held already at index 1", keys: (held) => [SECRET, held], expect: "already-exists", message: /^keys\[1\] is already in this pool/ },
  { name: "a key repeated in the call", keys: () => [SECRET, "other-secret", SECRET], expect: "already-exists", message: /^keys\[2\] repeats keys\[0\]/ },
] satisfies ImportCase[];

function pool(): { pool: KeyPool; held: string } {
  const p = makePool({ maxKeys: 1002 });
  const [held] = p.import(["already-held-secret"], T0);
  p.generate(1, T0);
  return { pool: p, held: held!.key };
}

describe("KeyPool.import", () => {
  it("adds every key of a valid batch as free keys, or refuses the whole batch naming what was wrong", () => {
    for (const c of CASES as readonly ImportCase[]) {
      const s = pool();
      const keys = c.keys(s.held);
      const result = outcome(() => s.pool.import(keys, T0 + 5));
      expect(result, c.name).toBe(c.expect);
      if (c.expect !== "ok") {
        const message = errorOf(() => s.pool.import(keys, T0 + 5)).message;
        expect(message, c.name).toMatch(c.message!);
        for (const k of keys) if (k.length >= 8) expect(message, "never echoes a key").not.toContain(k);
        expect(s.pool.stats(T0 + 5).total, `${c.name}: nothing added`).toBe(2);
        continue;
      }
      expect(s.pool.stats(T0 + 5), c.name).toMatchObject({ total: 2 + keys.length, free: 2 + keys.length });
      expect(s.pool.get(keys[0]!, T0 + 5), c.name).toEqual({
        key: keys[0], state: "free", createdAt: T0 + 5, expiresAt: T0 + 5 + KEEPALIVE_TTL, fencingToken: 0,
      });
    }
  });

  it("refuses a batch that does not fit, naming --max-keys, and adds nothing", () => {
    const p = makePool({ maxKeys: 10 });
    p.generate(8, T0);
    expect(errorOf(() => p.import(batch(3), T0))).toMatchObject({ code: "resource-exhausted", message: expect.stringMatching(/--max-keys/) });
    expect(p.stats(T0).total).toBe(8);
    expect(p.import(batch(2), T0)).toHaveLength(2);
  });

  it("imported keys live one keepalive TTL like generated ones, and a dead key may be imported again", () => {
    const s = pool();
    const got = s.pool.acquire(T0);
    expect(got.fencingToken).toBe(1);
    expect(outcome(() => s.pool.get(s.held, T0 + KEEPALIVE_TTL))).toBe("not-found");
    expect(s.pool.import([s.held], T0 + KEEPALIVE_TTL)[0]).toMatchObject({ key: s.held, state: "free", fencingToken: 0 });
  });
});
