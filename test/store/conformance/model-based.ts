import fc from "fast-check";
import { expect, test } from "vitest";
import { KeyPoolError } from "../../../src/pool/index.js";
import type { KeyInfo } from "../../../src/pool/index.js";
import type { KeyStore } from "../../../src/store/key-store.js";
import { FOREIGN_LEASE, UNKNOWN_KEY } from "./context.js";
import type { ConformanceContext } from "./context.js";
import { ReferenceModel } from "./reference-model.js";
import type { Expected, ModelSettings } from "./reference-model.js";

/** Small TTLs and capacity, so random runs hit every boundary and the capacity often. */
const SETTINGS = { blockTtlMs: 1_000, keepaliveTtlMs: 3_000, maxKeys: 6, maxLeaseMs: 2_000 } satisfies ModelSettings;
/** Steps that land exactly on, just before and just after the deadlines above. */
const STEPS = [0, 1, 499, 500, 999, 1_000, 1_001, 2_999, 3_000];
/** Cooldowns a release asks for: none most often, then ones ending on, before and after the steps. */
const COOLDOWNS = [0, 0, 0, 500, 1_000, 2_000];

type Op =
  | { readonly kind: "generate"; readonly count: number }
  | { readonly kind: "acquire" }
  | { readonly kind: "stats" }
  | { readonly kind: "release"; readonly pick: number; readonly lease: "none" | "last" | "foreign"; readonly cooldown: number }
  | { readonly kind: "import"; readonly fresh: number; readonly picks: readonly number[] }
  | { readonly kind: "list"; readonly pageSize: number }
  | { readonly kind: "delete"; readonly pick: number }
  | { readonly kind: "keepAlive"; readonly pick: number }
  | { readonly kind: "get"; readonly pick: number }
  | { readonly kind: "keepAliveMany"; readonly picks: readonly number[] }
  | { readonly kind: "renew"; readonly pick: number; readonly lease: "last" | "foreign" }
  | { readonly kind: "renewMany"; readonly picks: readonly number[] }
  | { readonly kind: "advance"; readonly ms: number };

const pick = fc.nat({ max: 40 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("generate" as const), count: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant("acquire" as const) }),
  fc.record({ kind: fc.constant("stats" as const) }),
  fc.record({
    kind: fc.constant("release" as const), pick, lease: fc.constantFrom("none" as const, "last" as const, "foreign" as const), cooldown: fc.constantFrom(...COOLDOWNS),
  }),
  fc.record({ kind: fc.constant("import" as const), fresh: fc.integer({ min: 0, max: 2 }), picks: fc.array(pick, { maxLength: 1 }) }),
  fc.record({ kind: fc.constant("list" as const), pageSize: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant("delete" as const), pick }),
  fc.record({ kind: fc.constant("keepAlive" as const), pick }),
  fc.record({ kind: fc.constant("get" as const), pick }),
  fc.record({ kind: fc.constant("keepAliveMany" as const), picks: fc.array(pick, { maxLength: 4 }) }),
  fc.record({ kind: fc.constant("renew" as const), pick, lease: fc.constantFrom("last" as const, "last" as const, "foreign" as const) }),
  fc.record({ kind: fc.constant("renewMany" as const), picks: fc.array(pick, { maxLength: 4 }) }),
  fc.record({ kind: fc.constant("advance" as const), ms: fc.constantFrom(...STEPS) }),
);

/** Runs `promise` and reports what it came to, in the model's terms. */
async function outcome<T>(promise: Promise<T>): Promise<Expected<T>> {
  try {
    return { ok: await promise };
  } catch (err) {
    if (err instanceof KeyPoolError) return { code: err.code };
    throw err;
  }
}

/** Every key a run has seen (live, deleted or dead), and the last lease each was given. */
class Ledger {
  readonly keys: string[] = [];
  readonly leases = new Map<string, string>();
  /** Imported texts handed out so far (each run's own, so they never collide across runs). */
  imported = 0;

  key(i: number): string {
    return this.keys.length === 0 ? UNKNOWN_KEY : this.keys[i % this.keys.length]!;
  }
}

/** What one step works on. */
interface Run {
  readonly store: KeyStore;
  readonly model: ReferenceModel;
  readonly ledger: Ledger;
  readonly now: number;
}

type Handlers = { readonly [K in Op["kind"]]: (run: Run, op: Extract<Op, { kind: K }>) => Promise<void> };

/** Per op: apply it to the store and the model, and check that both agree. */
const STEP: Handlers = {
  async generate({ store, model, ledger, now }, o) {
    const expected = model.generate(o.count, now);
    const actual = await outcome(store.generate(o.count));
    expect("ok" in actual ? { ok: actual.ok.length } : actual).toEqual(expected);
    if (!("ok" in actual)) return;
    model.add(actual.ok, now);
    ledger.keys.push(...actual.ok.map((k) => k.key));
  },
  async acquire({ store, model, ledger, now }) {
    const free = model.freeKeys(now);
    const actual = await outcome(store.acquire());
    if (free.length === 0) return void expect(actual).toEqual({ code: "not-found" });
    const got = (actual as { ok?: KeyInfo }).ok;
    expect(free).toContain(got?.key);
    expect(got).toEqual(model.acquire(got!.key, got!.leaseId!, now));
    ledger.leases.set(got!.key, got!.leaseId!);
  },
  async release({ store, model, ledger, now }, o) {
    const key = ledger.key(o.pick);
    const lease = { none: undefined, last: ledger.leases.get(key), foreign: FOREIGN_LEASE }[o.lease];
    const expected = model.release(key, lease, now, o.cooldown);
    expect(await outcome(store.release(key, lease, o.cooldown))).toEqual(expected);
  },
  async import({ store, model, ledger, now }, o) {
    const fresh = Array.from({ length: o.fresh }, () => `sk-model-${String(ledger.imported++).padStart(5, "0")}`);
    const keys = [...new Set([...fresh, ...o.picks.map((i) => ledger.key(i)).filter((k) => k !== UNKNOWN_KEY)])];
    if (keys.length === 0) return;
    const expected = model.import(keys, now);
    const actual = await outcome(store.import(keys));
    expect("ok" in actual ? { ok: actual.ok.length } : actual).toEqual(expected);
    if (!("ok" in actual)) return;
    model.add(actual.ok, now);
    ledger.keys.push(...fresh);
  },
  async list({ store, model, now }, o) {
    const listed: KeyInfo[] = [];
    let pageToken = "";
    do {
      const page = await store.list({ pageSize: o.pageSize, pageToken });
      listed.push(...page.keys);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(listed.sort((a, b) => (a.key < b.key ? -1 : 1))).toEqual(model.list(now));
  },
  async delete({ store, model, ledger, now }, o) {
    const key = ledger.key(o.pick);
    expect(await outcome(store.delete(key))).toEqual(model.delete(key, now));
  },
  async keepAlive({ store, model, ledger, now }, o) {
    const key = ledger.key(o.pick);
    expect(await outcome(store.keepAlive(key))).toEqual(model.keepAlive(key, now));
  },
  async keepAliveMany({ store, model, ledger, now }, o) {
    const keys = o.picks.map((i) => ledger.key(i));
    const expected = keys.map((key) => {
      const r = model.keepAlive(key, now);
      return "ok" in r ? { key, found: true, expiresAt: r.ok.expiresAt } : { key, found: false };
    });
    expect(await store.keepAliveMany(keys)).toEqual(expected);
  },
  async renew({ store, model, ledger, now }, o) {
    const key = ledger.key(o.pick);
    const lease = o.lease === "last" ? (ledger.leases.get(key) ?? FOREIGN_LEASE) : FOREIGN_LEASE;
    const { reason: _, ...expected } = model.renew(key, lease, now);
    expect(await outcome(store.renew(key, lease))).toEqual(expected);
  },
  async renewMany({ store, model, ledger, now }, o) {
    const leases = o.picks.map((i) => ledger.key(i)).map((key) => ({ key, leaseId: ledger.leases.get(key) ?? FOREIGN_LEASE }));
    const expected = leases.map(({ key, leaseId }) => {
      const r = model.renew(key, leaseId, now);
      if ("ok" in r) return { key, leaseId, renewed: true, blockedUntil: r.ok.blockedUntil, expiresAt: r.ok.expiresAt };
      return { key, leaseId, renewed: false, reason: r.reason };
    });
    expect(await store.renewMany(leases)).toEqual(expected);
  },
  async get({ store, model, ledger, now }, o) {
    const key = ledger.key(o.pick);
    expect(await outcome(store.get(key))).toEqual(model.get(key, now));
  },
  async stats({ store, model, now }) {
    expect(await store.stats()).toEqual(model.stats(now));
  },
  async advance() {},
};

/** Applies `o` through its handler (one switch point, typed by op kind). */
function step(run: Run, o: Op): Promise<void> {
  return (STEP[o.kind] as (run: Run, op: Op) => Promise<void>)(run, o);
}

/** Thousands of seeded random operations, each checked against the naive ReferenceModel. */
export function modelBasedTests(ctx: ConformanceContext, runs: number): void {
  test("model-based: random operations agree with the reference model at every step", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) => {
        const { store, clock, cleanup } = await ctx.open(SETTINGS);
        try {
          const model = new ReferenceModel(SETTINGS);
          const ledger = new Ledger();
          for (const o of ops) {
            if (o.kind === "advance") clock.advance(o.ms);
            await step({ store, model, ledger, now: clock.now() }, o);
          }
          expect(await store.stats()).toEqual(model.stats(clock.now()));
        } finally {
          await cleanup();
        }
      }),
      { numRuns: runs, seed: 0x6b70 },
    );
  });
}
