import { expect, test } from "vitest";
import { LIFE_MS, expectCode } from "./context.js";
import type { ConformanceContext } from "./context.js";

/** Secrets of the documented format: 8 to 512 printable ASCII characters, no spaces. */
const SECRETS = ["sk-proj-AbC123_xyz", "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB", "12345678", "~!@#$%^&*()[]{}<>?", "x".repeat(512)];

/** Distinct imported-looking keys, `count` of them, starting at `from`. */
function secrets(count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => `sk-test-${String(from + i).padStart(6, "0")}`);
}

/** ImportKeys: existing secrets as free keys, all or none, the same lifecycle as generated keys. */
export function importTests(ctx: ConformanceContext): void {
  test("import: each key becomes a free key, alive one keepalive TTL, never leased, as get reports it", async () => {
    const { store, clock } = await ctx.open();
    const made = await store.import(SECRETS);
    expect(made.map((k) => k.key)).toEqual(SECRETS);
    for (const k of made) {
      expect(k).toMatchObject({ state: "free", createdAt: clock.now(), expiresAt: clock.now() + LIFE_MS, fencingToken: 0 });
      expect(await store.get(k.key)).toEqual(k);
    }
    expect(await store.stats()).toMatchObject({ total: SECRETS.length, free: SECRETS.length, blocked: 0, cooling: 0 });
  });

  test("import: a key the pool holds is ALREADY_EXISTS naming its index, and nothing of the call is added", async () => {
    const { store } = await ctx.open();
    const [generated] = await store.generate(1);
    await store.import(["sk-held-000001"]);
    for (const [keys, index] of [[["sk-new-000001", "sk-held-000001", "sk-new-000002"], 1], [["sk-new-000003", generated!.key], 1]] as const) {
      const err = await expectCode(store.import(keys), "already-exists");
      expect(err.message).toContain(`keys[${index}]`);
    }
    expect(await store.stats()).toMatchObject({ total: 2 });
    await expectCode(store.get("sk-new-000001"), "not-found");
  });

  test("import: a key repeated in the call is ALREADY_EXISTS naming both indexes; bad input is INVALID_ARGUMENT naming it", async () => {
    const { store } = await ctx.open();
    const repeated = await expectCode(store.import(["sk-a-000001", "sk-b-000001", "sk-a-000001"]), "already-exists");
    expect(repeated.message).toContain("keys[2]");
    expect(repeated.message).toContain("keys[0]");
    for (const [keys, named] of [
      [["sk-ok-000001", "short"], "keys[1]"],
      [["sk-ok-000001", "sk-ok-000002", "with space x"], "keys[2]"],
      [["sk-ok-000001", "x".repeat(513)], "keys[1]"],
      [[], "between 1 and 1000"],
      [secrets(1_001), "between 1 and 1000"],
    ] as const) {
      const err = await expectCode(store.import(keys), "invalid-argument");
      expect(err.message).toContain(named);
    }
    expect(await store.stats()).toMatchObject({ total: 0 });
  });

  test("import: past max keys is RESOURCE_EXHAUSTED and adds nothing; 1,000 keys in one call fit", async () => {
    const { store } = await ctx.open({ maxKeys: 1_000 });
    expect(await store.import(secrets(1_000))).toHaveLength(1_000);
    await store.delete(secrets(1)[0]!);
    await expectCode(store.import(secrets(2, 5_000)), "resource-exhausted");
    expect(await store.stats()).toMatchObject({ total: 999 });
    expect(await store.import(secrets(1, 5_000))).toHaveLength(1);
  });

  test("import: imported keys live as generated ones do: acquired, renewed, kept alive, released, dead, imported again", async () => {
    const { store, clock } = await ctx.open();
    const [key] = secrets(1);
    await store.import([key!]);
    const got = await store.acquire();
    expect(got).toMatchObject({ key, state: "blocked", fencingToken: 1 });
    clock.advance(1_000);
    expect((await store.renew(key!, got.leaseId!)).fencingToken).toBe(1);
    expect((await store.keepAlive(key!)).expiresAt).toBe(clock.now() + LIFE_MS);
    expect((await store.release(key!, got.leaseId)).state).toBe("free");
    clock.advance(LIFE_MS);
    await expectCode(store.get(key!), "not-found");
    // A dead key is no longer held: its text may come back.
    expect(await store.import([key!])).toMatchObject([{ key, state: "free", fencingToken: 0 }]);
  });
}
