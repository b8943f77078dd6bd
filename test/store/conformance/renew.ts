import { expect, test } from "vitest";
import type { KeyInfo } from "../../../src/pool/index.js";
import type { KeyStore } from "../../../src/store/key-store.js";
import { BLOCK_MS, FOREIGN_LEASE, LIFE_MS, UNKNOWN_KEY, expectCode } from "./context.js";
import type { ConformanceContext } from "./context.js";

/** The longest lease of the max-lease cases: five block TTLs. */
const MAX_LEASE_MS = 5 * BLOCK_MS;

/** A store with one key, acquired now. */
async function held(ctx: ConformanceContext, overrides: { maxLeaseMs?: number } = {}) {
  const opened = await ctx.open(overrides);
  await opened.store.generate(1);
  return { ...opened, got: await opened.store.acquire() };
}

/** Expects `key` to look exactly as `before` (a refused renewal changes nothing). */
async function unchanged(store: KeyStore, before: KeyInfo): Promise<void> {
  expect(await store.get(before.key)).toEqual(before);
}

/** RenewLease (E6): extends the current lease only; every refusal leaves the key as it was. */
export function renewTests(ctx: ConformanceContext): void {
  test("renew: the current lease gets block = now + block TTL and life = now + keepalive TTL, same lease and token", async () => {
    const { store, clock, got } = await held(ctx);
    clock.advance(BLOCK_MS - 1);
    const renewed = await store.renew(got.key, got.leaseId!);
    expect(renewed).toEqual({ ...got, blockedUntil: clock.now() + BLOCK_MS, expiresAt: clock.now() + LIFE_MS });
    expect(await store.get(got.key)).toEqual(renewed);
  });

  test("renew: a lease renewed in time holds the key for many block TTLs; nobody else can acquire it", async () => {
    const { store, clock, got } = await held(ctx);
    for (let i = 0; i < 12; i++) {
      clock.advance(BLOCK_MS / 2);
      await store.renew(got.key, got.leaseId!);
      await expectCode(store.acquire(), "not-found");
    }
    expect(await store.get(got.key)).toMatchObject({ state: "blocked", leaseId: got.leaseId, fencingToken: 1, acquiredAt: got.acquiredAt });
  });

  test("renew: a renewed block still ends by itself at exactly renewal + block TTL (auto-release later)", async () => {
    const { store, clock, got } = await held(ctx);
    clock.advance(BLOCK_MS / 2);
    const renewed = await store.renew(got.key, got.leaseId!);
    clock.set(renewed.blockedUntil! - 1);
    await expectCode(store.acquire(), "not-found");
    clock.advance(1);
    expect(await store.stats()).toMatchObject({ free: 1, blocked: 0 });
    expect(await store.acquire()).toMatchObject({ key: got.key, fencingToken: 2 });
  });

  test("renew: exactly at blocked_until the lease has ended: FAILED_PRECONDITION saying the key is free", async () => {
    const { store, clock, got } = await held(ctx);
    clock.set(got.blockedUntil!);
    const err = await expectCode(store.renew(got.key, got.leaseId!), "failed-precondition");
    expect(err.message).toMatch(/the key is free/);
    expect((await store.get(got.key)).state).toBe("free");
  });

  test("renew: an ended lease (released) is FAILED_PRECONDITION and the key stays free", async () => {
    const { store, got } = await held(ctx);
    const free = await store.release(got.key, got.leaseId);
    expect((await expectCode(store.renew(got.key, got.leaseId!), "failed-precondition")).message).toMatch(/released/);
    await unchanged(store, free);
  });

  test("renew: a stale lease (the key was acquired again) is FAILED_PRECONDITION and the new holder keeps it", async () => {
    const { store, clock, got } = await held(ctx);
    clock.set(got.blockedUntil!);
    const second = await store.acquire();
    expect(second.fencingToken).toBe(got.fencingToken! + 1);
    const err = await expectCode(store.renew(got.key, got.leaseId!), "failed-precondition");
    expect(err.message).toMatch(/blocked under another lease/);
    await unchanged(store, second);
    await expectCode(store.renew(got.key, FOREIGN_LEASE), "failed-precondition");
  });

  test("renew: past acquired_at + max lease is FAILED_PRECONDITION naming the flag; the block ends at its deadline", async () => {
    const { store, clock, got } = await held(ctx, { maxLeaseMs: MAX_LEASE_MS });
    let last = got;
    while (clock.now() + BLOCK_MS < got.acquiredAt! + MAX_LEASE_MS) {
      clock.set(Math.min(clock.now() + BLOCK_MS / 2, got.acquiredAt! + MAX_LEASE_MS - BLOCK_MS));
      last = await store.renew(got.key, got.leaseId!); // the last one reaches exactly the max: allowed
    }
    expect(last.blockedUntil).toBe(got.acquiredAt! + MAX_LEASE_MS);
    clock.advance(1);
    const err = await expectCode(store.renew(got.key, got.leaseId!), "failed-precondition");
    expect(err.message).toMatch(/--max-lease/);
    await unchanged(store, last);
    clock.set(last.blockedUntil!);
    expect((await store.get(got.key)).state).toBe("free");
  });

  test("renew: deleted, dead and unknown keys are NOT_FOUND", async () => {
    const { store, clock, got } = await held(ctx);
    await expectCode(store.renew(UNKNOWN_KEY, got.leaseId!), "not-found");
    clock.set(got.expiresAt);
    await expectCode(store.renew(got.key, got.leaseId!), "not-found");
    const [other] = await store.generate(1);
    const lease = (await store.acquire()).leaseId!;
    await store.delete(other!.key);
    await expectCode(store.renew(other!.key, lease), "not-found");
  });

  test("renew: a malformed key or lease id (both required) is INVALID_ARGUMENT and changes nothing", async () => {
    const { store, got } = await held(ctx);
    await expectCode(store.renew("kp_shrt", got.leaseId!), "invalid-argument");
    await expectCode(store.renew(got.key, ""), "invalid-argument");
    await expectCode(store.renew(got.key, "lease-1"), "invalid-argument");
    await unchanged(store, got);
  });

  test("renewMany: one result per lease, in order, with the reason of each refusal", async () => {
    const { store } = await ctx.open();
    const [b] = await store.generate(1);
    const leases = [
      { key: UNKNOWN_KEY, leaseId: FOREIGN_LEASE },
      { key: b!.key, leaseId: FOREIGN_LEASE },
    ];
    expect(await store.renewMany(leases)).toEqual([
      { key: UNKNOWN_KEY, leaseId: FOREIGN_LEASE, renewed: false, reason: "not-found" },
      { key: b!.key, leaseId: FOREIGN_LEASE, renewed: false, reason: "lease-ended" },
    ]);
    expect(await store.renewMany([])).toEqual([]);
  });

  test("renewMany: renews current leases, refuses past max lease, and a malformed entry rejects the batch", async () => {
    const { store, clock, got } = await held(ctx, { maxLeaseMs: MAX_LEASE_MS });
    clock.advance(BLOCK_MS / 2);
    const now = clock.now();
    expect(await store.renewMany([{ key: got.key, leaseId: got.leaseId! }, { key: got.key, leaseId: FOREIGN_LEASE }])).toEqual([
      { key: got.key, leaseId: got.leaseId, renewed: true, blockedUntil: now + BLOCK_MS, expiresAt: now + LIFE_MS },
      { key: got.key, leaseId: FOREIGN_LEASE, renewed: false, reason: "lease-ended" },
    ]);
    const before = await store.get(got.key);
    const err = await expectCode(store.renewMany([{ key: got.key, leaseId: got.leaseId! }, { key: got.key, leaseId: "x" }]), "invalid-argument");
    expect(err.message).toMatch(/^leases\[1\]\.lease_id/);
    await unchanged(store, before);
    for (clock.advance(BLOCK_MS / 2); clock.now() + BLOCK_MS <= got.acquiredAt! + MAX_LEASE_MS; clock.advance(BLOCK_MS / 2)) {
      await store.renew(got.key, got.leaseId!);
    }
    expect(await store.renewMany([{ key: got.key, leaseId: got.leaseId! }])).toEqual([
      { key: got.key, leaseId: got.leaseId, renewed: false, reason: "max-lease" },
    ]);
  });

  test("fencing: every acquire of a key gets a greater token (1,000 acquisitions); release and renewal keep it", async () => {
    const { store, clock } = await ctx.open();
    const [only] = await store.generate(1);
    expect(only!.fencingToken).toBe(0);
    let last = 0;
    for (let i = 0; i < 1000; i++) {
      const got = await store.acquire();
      expect(got.fencingToken).toBeGreaterThan(last);
      last = got.fencingToken!;
      if (i % 10 === 0) expect((await store.renew(got.key, got.leaseId!)).fencingToken).toBe(last);
      if (i % 2 === 0) await store.release(got.key, got.leaseId);
      else {
        clock.advance(BLOCK_MS); // the block runs out instead
        await store.keepAlive(got.key);
      }
      if (i % 100 === 0) expect((await store.get(got.key)).fencingToken).toBe(last);
    }
    expect(last).toBe(1000);
  });
}
