import { describe, expect, it } from "vitest";
import { KeyPool, KeyPoolError, SlotTable } from "../../src/pool/index.js";
import type { KeyPoolErrorCode, PoolOptions } from "../../src/pool/index.js";
import { seededRandom, type Random } from "../../src/random.js";
import { ALPHABET, T0, keyStartingWith } from "./pool-fixtures.js";
import { ReferencePool, type Expected } from "./reference-pool.js";

/** Short TTLs and a small pool, so keys are born, leased, lapse and die thousands of times. */
const OPTIONS = { blockTtlMs: 1000, keepaliveTtlMs: 5000, maxKeys: 48, maxLeaseMs: 1800, maxCooldownMs: 3000 } satisfies PoolOptions;
/** Cooldowns a release asks for: mostly none, some short and long, some out of range. */
const COOLDOWNS = [0, 0, 0, 0, 1, 400, 1500, 3000, 3001, -5, 0.5];
const STATES = [undefined, undefined, "free", "blocked", "cooling"] as const;
const MALFORMED_KEYS = ["", "kp_", "kp_shrt", `kp_${"A".repeat(23)} `, `KP_${"A".repeat(24)}é`, "x".repeat(513), "tab\tinside"];
const COUNTS = [0, 1, 1, 2, 3, 3, 5, 8, 12, 30, 60, 1001, 2.5];
/** Outcomes every run must reach, or the run proves less than it claims. */
const MUST_SEE = [
  "generate:ok", "generate:resource-exhausted", "generate:invalid-argument", "acquire:ok", "acquire:not-found",
  "release:ok", "release:failed-precondition", "release:not-found", "release:invalid-argument", "delete:ok",
  "delete:not-found", "keepAlive:ok", "keepAlive:not-found", "get:ok", "get:not-found", "advance:deadline",
  "renew:ok", "renew:lease-ended", "renew:not-found", "renew:max-lease", "renew:invalid-argument",
  "release-cooldown:ok", "release-cooldown:invalid-argument", "release-cooldown:failed-precondition",
  "import:ok", "import:already-exists", "import:invalid-argument", "import:resource-exhausted", "list:ok", "list:cooling",
];

type Actual<T> = { ok: T } | { error: KeyPoolErrorCode; message: string };

function attempt<T>(call: () => T): Actual<T> {
  try {
    return { ok: call() };
  } catch (err) {
    if (err instanceof KeyPoolError) return { error: err.code, message: err.message };
    throw err;
  }
}

/**
 * One seeded run: random operations applied to a KeyPool and to the ReferencePool, compared
 * after every step. `exactCounts` is off for pools whose catch-up budget is too small to finish
 * in one request: then stats may lag (never under-count) and acquire may answer UNAVAILABLE.
 */
class ModelRun {
  private readonly rnd: Random;
  private readonly pool: KeyPool;
  private readonly model: ReferencePool;
  private clock = T0;
  private readonly known: string[] = [];
  private readonly leases = new Map<string, string[]>();
  private readonly log: string[] = [];
  readonly seen = new Map<string, number>();

  /**
   * `neighbours`: the pool shares `neighbours.table` with other runs' pools, and some imports
   * take a key text another of them imported (`neighbours.keys`, which every import adds to).
   */
  constructor(
    private readonly seed: number,
    options: PoolOptions,
    private readonly exactCounts: boolean,
    private readonly neighbours?: { readonly table: SlotTable; readonly keys: string[] },
  ) {
    this.rnd = seededRandom(seed);
    this.pool = new KeyPool(options, seededRandom(seed + 1000), neighbours?.table);
    this.model = new ReferencePool(options);
  }

  run(steps: number): void {
    for (let step = 0; step < steps; step++) {
      try {
        this.step();
        const live = this.model.liveKeys().length;
        expect(this.pool.size, "pool.size counts every live key").toBeGreaterThanOrEqual(live);
        expect(this.pool.size, "pool.size stays within max-keys").toBeLessThanOrEqual(this.pool.options.maxKeys);
      } catch (err) {
        const recent = this.log.slice(-15).join("\n  ");
        throw new Error(`seed ${this.seed}, step ${step}: ${(err as Error).message}\n recent ops:\n  ${recent}`);
      }
    }
  }

  private step(): void {
    const r = this.rnd.int(110);
    if (r >= 105) this.list();
    else if (r >= 100) this.import();
    else if (r < 10) this.generate();
    else if (r < 28) this.acquire();
    else if (r < 42) this.keyed((key, now) => this.releaseOne(key, now));
    else if (r < 52) this.renewSome();
    else if (r < 57) this.simple("delete");
    else if (r < 67) this.simple("keepAlive");
    else if (r < 77) this.simple("get");
    else if (r < 85) this.stats();
    else if (r < 97) this.advance();
    else this.sweep();
  }

  /** A time to pass in: usually the clock, sometimes earlier (the pool must clamp it). */
  private when(): number {
    return this.rnd.int(10) === 0 ? this.clock - this.rnd.int(3000) : this.clock;
  }

  /** Logs a step for the failure report and counts its outcome for the coverage check. */
  private note(op: string, detail: string, outcome: string): void {
    this.log.push(`t+${this.clock - T0} ${op}${detail} -> ${outcome}`);
    if (this.log.length > 50) this.log.splice(0, 25);
    const tag = `${op}:${outcome}`;
    this.seen.set(tag, (this.seen.get(tag) ?? 0) + 1);
  }

  private compare<T>(op: string, key: string, expected: Expected<T>, actual: Actual<T>, detail = ""): void {
    this.note(op, ` ${key.slice(0, 9)}${detail}`, "error" in actual ? actual.error : "ok");
    if ("error" in expected) {
      expect(actual, op).toMatchObject({ error: expected.error });
      if ("error" in actual && key.length > 8) expect(actual.message, "messages never echo a key").not.toContain(key);
    } else {
      expect(actual, op).toEqual({ ok: expected.ok });
    }
  }

  /** Calls a one-key method on the model and on the pool and compares the results. */
  private simple(op: "delete" | "keepAlive" | "get"): void {
    this.keyed((key, now) => this.compare<unknown>(op, key, this.model[op](key, now), attempt(() => this.pool[op](key, now))));
  }

  /** Runs `call` on a key: mostly a live one, else one known to be gone, unknown or malformed. */
  private keyed(call: (key: string, now: number) => void): void {
    const r = this.rnd.int(100);
    const live = this.model.liveKeys();
    let key: string;
    if (r < 60 && live.length > 0) key = live[this.rnd.int(live.length)]!;
    else if (r < 85 && this.known.length > 0) key = this.known[this.rnd.int(this.known.length)]!;
    else if (r < 95) key = keyStartingWith("", this.rnd);
    else key = MALFORMED_KEYS[this.rnd.int(MALFORMED_KEYS.length)]!;
    call(key, this.when());
  }

  /** Renews mostly a held key under its current lease, so leases run on up to the max lease. */
  private renewSome(): void {
    const held = this.model.blockedKeys();
    if (held.length === 0 || this.rnd.int(3) === 0) {
      this.keyed((key, now) => this.renewOne(key, this.someLease(key), now));
      return;
    }
    const key = held[this.rnd.int(held.length)]!;
    this.renewOne(key, this.model.leaseOf(key), this.when());
  }

  private renewOne(key: string, lease: string | undefined, now: number): void {
    const expected = this.model.renew(key, lease ?? "", now);
    const actual = attempt(() => this.pool.renew(key, lease ?? "", now));
    const tag = "error" in actual ? actual.error : actual.ok.renewed ? "ok" : actual.ok.refusal.reason;
    this.note("renew", ` ${key.slice(0, 9)} lease ${lease?.slice(0, 4)}`, tag);
    if ("error" in expected) expect(actual, "renew").toMatchObject({ error: expected.error });
    else if ("refused" in expected) expect(actual, "renew").toMatchObject({ ok: { renewed: false, refusal: { reason: expected.refused } } });
    else expect(actual, "renew").toEqual({ ok: { renewed: true, info: expected.ok } });
    if ("ok" in actual && !actual.ok.renewed) expect(actual.ok.refusal.message, "messages never echo a key").not.toContain(key);
  }

  /** A lease id to try on `key`: its current one, a past one, none, a stranger's or a malformed one. */
  private someLease(key: string): string | undefined {
    const r = this.rnd.int(100);
    const past = this.leases.get(key) ?? [];
    let lease: string | undefined;
    if (r < 35) lease = this.model.leaseOf(key);
    else if (r < 50) lease = past[this.rnd.int(past.length)];
    else if (r < 70) lease = undefined;
    else if (r < 80) lease = "";
    else if (r < 95) lease = Array.from({ length: 24 }, () => ALPHABET[this.rnd.int(64)]).join("");
    else lease = "not a lease";
    return lease;
  }

  private releaseOne(key: string, now: number): void {
    const lease = this.someLease(key);
    const cooldown = COOLDOWNS[this.rnd.int(COOLDOWNS.length)]!;
    const expected = this.model.release(key, lease, now, cooldown);
    const op = cooldown === 0 ? "release" : "release-cooldown";
    this.compare(op, key, expected, attempt(() => this.pool.release(key, lease, now, cooldown)), ` lease ${lease?.slice(0, 4)} cool ${cooldown}`);
  }

  /** Imports a batch: mostly new secrets, sometimes one already held, repeated, malformed, or too many. */
  private import(): void {
    const r = this.rnd.int(10);
    const fresh = (): string => `sk-${Array.from({ length: 5 + this.rnd.int(40) }, () => ALPHABET[this.rnd.int(64)]).join("")}`;
    const keys = Array.from({ length: r === 9 ? 49 : 1 + this.rnd.int(6) }, fresh);
    const live = this.model.liveKeys();
    if (r === 0 && live.length > 0) keys.push(live[this.rnd.int(live.length)]!);
    if (r === 1) keys.push(keys[0]!);
    if (r === 2) keys.splice(this.rnd.int(keys.length), 0, MALFORMED_KEYS[this.rnd.int(MALFORMED_KEYS.length)]!);
    if (r === 3) keys.length = 0;
    const common = this.neighbours?.keys ?? [];
    if (r === 4 && common.length > 0) keys[0] = common[this.rnd.int(common.length)]!;
    const now = this.when();
    const expected = this.model.import(keys, now);
    const actual = attempt(() => this.pool.import(keys, now));
    this.note("import", ` ${keys.length}`, "error" in actual ? actual.error : "ok");
    if ("error" in expected) {
      expect(actual).toMatchObject({ error: expected.error });
      if ("error" in actual) for (const k of keys) if (k.length >= 8) expect(actual.message, "messages never echo a key").not.toContain(k);
      return;
    }
    if ("error" in actual) expect.fail(`import failed with ${actual.error}; the model expected ${keys.length} keys`);
    expect(actual.ok.map((k) => k.key)).toEqual(keys);
    expect(actual.ok).toEqual(this.model.added(actual.ok));
    // A key that died may come back by a new import (the one picked live above may die at `now`).
    this.known.push(...keys.filter((k) => !this.known.includes(k)));
    if (this.neighbours) common.push(...keys);
  }

  /** Lists the whole pool (or one state) page by page: every live key exactly once, as `get` sees it. */
  private list(): void {
    const now = this.when();
    const state = STATES[this.rnd.int(STATES.length)];
    const pageSize = 1 + this.rnd.int(12);
    this.model.tick(now);
    const listed: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = this.pool.list({ state, pageSize, pageToken }, now);
      expect(page.keys.length).toBeLessThanOrEqual(pageSize);
      for (const info of page.keys) expect(info, "a listed key is as get describes it").toEqual((this.model.get(info.key, now) as { ok: unknown }).ok);
      listed.push(...page.keys.map((k) => k.key));
      pageToken = page.nextPageToken;
      expect(++pages, "a listing ends").toBeLessThan(1000);
    } while (pageToken !== "");
    expect(new Set(listed).size, "no key listed twice").toBe(listed.length);
    expect(listed.sort()).toEqual(this.model.keysIn(state).sort());
    this.note("list", ` ${state ?? "all"}/${pageSize}`, state === "cooling" && listed.length > 0 ? "cooling" : "ok");
  }

  private generate(): void {
    const count = COUNTS[this.rnd.int(COUNTS.length)]!;
    const now = this.when();
    const expected = this.model.generate(count, now);
    const actual = attempt(() => this.pool.generate(count, now));
    this.note("generate", ` ${count}`, "error" in actual ? actual.error : "ok");
    if ("error" in expected) {
      expect(actual).toMatchObject({ error: expected.error });
      return;
    }
    if ("error" in actual) expect.fail(`generate failed with ${actual.error}; the model expected ${expected.ok} keys`);
    const keys = actual.ok;
    expect(keys, "generated count").toHaveLength(expected.ok);
    const at = this.model.now;
    for (const info of keys) {
      expect(info.key).toMatch(/^kp_[A-Za-z0-9_-]{24}$/);
      expect(info).toEqual({
        key: info.key, state: "free", leaseId: undefined, blockedUntil: undefined, createdAt: at,
        expiresAt: at + OPTIONS.keepaliveTtlMs, fencingToken: 0, acquiredAt: undefined,
      });
    }
    expect(new Set([...this.known, ...keys.map((k) => k.key)]).size, "keys are new").toBe(this.known.length + keys.length);
    this.model.added(keys);
    this.known.push(...keys.map((k) => k.key));
  }

  private acquire(): void {
    const now = this.when();
    const expected = this.model.acquire(now);
    const actual = attempt(() => this.pool.acquire(now));
    this.note("acquire", "", "error" in actual ? actual.error : "ok");
    if ("error" in actual && actual.error === "unavailable" && !this.exactCounts) return;
    if ("error" in expected) {
      expect(actual).toMatchObject({ error: "not-found" });
      return;
    }
    if ("error" in actual) expect.fail(`acquire failed with ${actual.error} while ${expected.ok.length} keys were free`);
    const got = actual.ok;
    expect(expected.ok, "the key handed out was free").toContain(got.key);
    expect(got.leaseId).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const past = this.leases.get(got.key) ?? [];
    expect(past, "lease ids are fresh").not.toContain(got.leaseId);
    this.leases.set(got.key, [...past, got.leaseId!]);
    expect(got).toEqual(this.model.acquired(got.key, got.leaseId!));
  }

  private stats(): void {
    const now = this.when();
    const expected = this.model.stats(now);
    const actual = this.pool.stats(now);
    this.note("stats", ` ${actual.total}/${actual.free}/${actual.blocked}`, "ok");
    if (this.exactCounts) {
      expect(actual).toEqual(expected);
      return;
    }
    expect(actual.total, "stats never under-counts live keys").toBeGreaterThanOrEqual(expected.total);
    expect(actual.blocked, "stats never under-counts blocked keys").toBeGreaterThanOrEqual(expected.blocked);
    this.pool.sweep(now, 1_000_000);
    expect(this.pool.stats(now), "stats are exact once swept").toEqual(expected);
  }

  private sweep(): void {
    const budget = this.rnd.int(120);
    const now = this.when();
    const before = this.pool.size;
    const done = this.pool.sweep(now, budget);
    this.model.tick(now);
    this.note("sweep", ` ${budget}`, String(done));
    expect(done).toBeLessThanOrEqual(budget);
    expect(before - this.pool.size).toBeLessThanOrEqual(done);
    if (budget >= before) expect(this.pool.size, "a full sweep leaves only live keys").toBe(this.model.liveKeys().length);
  }

  private advance(): void {
    const r = this.rnd.int(10);
    const next = this.model.nextDeadline(this.clock);
    if (r < 3) this.clock += this.rnd.int(250);
    else if (r < 5) this.clock += this.rnd.int(3000);
    else if (r < 9 && next !== undefined) this.clock = Math.max(this.clock, next + [-1, 0, 0, 1][this.rnd.int(4)]!);
    else this.clock += OPTIONS.keepaliveTtlMs + 1;
    expect(Number.isFinite(this.clock), "the test clock stays finite").toBe(true);
    this.note("advance", "", r >= 5 && r < 9 && next !== undefined ? "deadline" : "by");
  }
}

describe("KeyPool against a naive reference model", () => {
  it.each([1, 2, 3])("agrees on every result over 4,000 seeded operations (seed %i)", (seed) => {
    const run = new ModelRun(seed, OPTIONS, true);
    run.run(4000);
    for (const tag of MUST_SEE) expect(run.seen.has(tag), tag).toBe(true);
  });

  it.each([4, 5])("agrees on every keyed result when each request may only do two units of expiry work (seed %i)", (seed) => {
    const run = new ModelRun(seed, { ...OPTIONS, catchUpBudget: 2 }, false);
    run.run(4000);
    for (const tag of MUST_SEE) expect(run.seen.has(tag), tag).toBe(true);
  });

  it.each([6, 7])("each of four pools sharing one slot table agrees with its own model, steps interleaved (seed %i)", (seed) => {
    // Pools of one process share one table (EmbeddedPools): their keys' slots, chunks and index
    // entries interleave, the same key text lives in several pools, and slots are recycled
    // pool by pool; none of it may show in any pool's answers, listings or counts.
    const neighbours = { table: new SlotTable(seededRandom(seed + 2000)), keys: [] as string[] };
    // Room for 150 keys (and a catch-up that reclaims them all at once, so counts stay exact):
    // each pool spans several chunks of the table, taken in turn with the others..
    const runs = [0, 1, 2, 3].map((i) => new ModelRun(seed * 10 + i, { ...OPTIONS, maxKeys: 150, catchUpBudget: 256 }, true, neighbours));
    const order = seededRandom(seed);
    for (let step = 0; step < 16_000; step++) runs[order.int(runs.length)]!.run(1);
    for (const tag of MUST_SEE) expect(runs.some((run) => run.seen.has(tag)), tag).toBe(true);
    expect(neighbours.keys.length).toBeGreaterThan(new Set(neighbours.keys).size); // some key text was imported into two pools
  });
});
