import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { ManualScheduler } from "../../src/scheduler.js";
import { DataDirFixture, DURABLE_DEFAULTS, makeTempDir } from "../support/durable-dirs.js";
import { expectCode } from "./conformance/context.js";

const { blockTtlMs: BLOCK, keepaliveTtlMs: LIFE } = DURABLE_DEFAULTS;

describe("durable store: a restart loses nothing", () => {
  let fx: DataDirFixture;
  beforeEach(async () => {
    fx = new DataDirFixture(await makeTempDir("recovery"));
  });
  afterEach(() => fx.dispose());

  test("close and reopen restores every key with its state, lease id and deadlines", async () => {
    const store = await fx.reopen();
    await store.generate(20);
    const held = [await store.acquire(), await store.acquire(), await store.acquire()];
    fx.clock.advance(5_000);
    await store.release(held[2]!.key, held[2]!.leaseId);
    const kept = await store.keepAlive(held[0]!.key);
    const before = await Promise.all((await store.generate(3)).map((k) => store.get(k.key)));
    before.push(...(await Promise.all(held.map((k) => store.get(k.key)))));
    await store.close();

    const again = await fx.reopen();
    const restart = fx.clock.now();
    for (const info of before) {
      // Same state, lease and block deadline; life at least a full window from the restart.
      expect(await again.get(info.key)).toEqual({ ...info, expiresAt: Math.max(info.expiresAt, restart + LIFE) });
    }
    expect(await again.get(kept.key)).toMatchObject({ state: "blocked", leaseId: held[0]!.leaseId });
    expect(await again.stats()).toMatchObject({ total: 23, blocked: 2, free: 21 });
    expect(again.dataDir?.recovery).toMatchObject({ keys: 23, blocked: 2, dropped: 0 });
    // The restored lease still works, and only that lease.
    await expectCode(again.release(held[1]!.key, "AAAAAAAAAAAAAAAAAAAAAAAA"), "failed-precondition");
    expect(await again.release(held[1]!.key, held[1]!.leaseId)).toMatchObject({ state: "free" });
  });

  test("fencing tokens never repeat across restarts; a restored lease keeps its token and acquired_at", async () => {
    let store = await fx.reopen();
    const [made] = await store.generate(1);
    let last = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5; i++) {
        const got = await store.acquire();
        expect(got.fencingToken).toBeGreaterThan(last);
        last = got.fencingToken!;
        await store.release(got.key, got.leaseId);
      }
      const held = await store.acquire();
      last = held.fencingToken!;
      fx.clock.advance(BLOCK / 3);
      await store.renew(held.key, held.leaseId!);
      await store.close();
      store = await fx.reopen();
      expect(await store.get(made!.key)).toMatchObject({ state: "blocked", leaseId: held.leaseId, fencingToken: last, acquiredAt: held.acquiredAt });
      expect(await store.renew(held.key, held.leaseId!)).toMatchObject({ fencingToken: last });
      await store.release(held.key, held.leaseId);
      await store.close();
      store = await fx.reopen();
      expect((await store.get(made!.key)).fencingToken, "a free key's last token survives a restart").toBe(last);
    }
    expect(last).toBe(18);
  });

  test("deleted keys stay deleted", async () => {
    const store = await fx.reopen();
    const keys = await store.generate(4);
    await store.delete(keys[0]!.key);
    await store.acquire();
    const blocked = (await store.acquire()).key;
    await store.delete(blocked);
    await store.close();

    const again = await fx.reopen();
    await expectCode(again.get(keys[0]!.key), "not-found");
    await expectCode(again.get(blocked), "not-found");
    expect(await again.stats()).toMatchObject({ total: 2 });
  });

  test("a block whose deadline passed while the server was down comes back free", async () => {
    const store = await fx.reopen();
    await store.generate(2);
    const ended = await store.acquire();
    fx.clock.advance(BLOCK / 2);
    const running = await store.acquire();
    await store.close();

    fx.clock.set(ended.blockedUntil!);
    const again = await fx.reopen();
    expect(await again.get(ended.key)).toMatchObject({ state: "free", leaseId: undefined, blockedUntil: undefined });
    expect(await again.get(running.key)).toMatchObject({ state: "blocked", leaseId: running.leaseId, blockedUntil: running.blockedUntil });
    // The running block still ends on time, with no call.
    fx.clock.set(running.blockedUntil!);
    expect(await again.stats()).toMatchObject({ free: 2, blocked: 0 });
  });

  test("a key whose life ended while the server was down gets a full window from the restart", async () => {
    const store = await fx.reopen();
    const [key] = await store.generate(1);
    await store.close();

    fx.clock.set(key!.expiresAt + 3_600_000);
    const again = await fx.reopen();
    const restart = fx.clock.now();
    expect(await again.get(key!.key)).toMatchObject({ state: "free", expiresAt: restart + LIFE });
    await again.close();

    // Down again past that window: the extension was persisted, so the key survives again.
    fx.clock.set(restart + LIFE + 60_000);
    const third = await fx.reopen();
    expect(await third.get(key!.key)).toMatchObject({ expiresAt: fx.clock.now() + LIFE });
    fx.clock.advance(LIFE);
    await expectCode(third.get(key!.key), "not-found");
  });

  test("a key that died while the server was up stays dead", async () => {
    const store = await fx.reopen();
    const [seen, unseen] = await store.generate(2);
    fx.clock.set(seen!.expiresAt);
    await expectCode(store.get(seen!.key), "not-found");
    fx.clock.advance(10_000);
    await store.close();

    fx.clock.advance(3_600_000);
    const again = await fx.reopen();
    await expectCode(again.get(seen!.key), "not-found");
    await expectCode(again.get(unseen!.key), "not-found");
    expect(again.dataDir?.recovery).toMatchObject({ keys: 0 });
  });

  test("keepalives are durable, one key or many", async () => {
    const store = await fx.reopen();
    const [a, b] = await store.generate(2);
    fx.clock.advance(LIFE - 1);
    await store.keepAlive(a!.key);
    await store.keepAliveMany([b!.key, "kp_unknownUnknownUnknown000"]);
    const expected = fx.clock.now() + LIFE;
    await store.close();

    const again = await fx.reopen();
    expect((await again.get(a!.key)).expiresAt).toBe(expected);
    expect((await again.get(b!.key)).expiresAt).toBe(expected);
  });

  test("the records of dead keys are reaped from the data dir while the server runs", async () => {
    const store = await fx.reopen();
    await store.generate(50);
    const [survivor] = await store.generate(1);
    fx.clock.advance(LIFE - 1);
    await store.keepAlive(survivor!.key);
    fx.clock.advance(1);
    store.dataDir!.runUpkeep();
    await store.close();

    const again = await fx.reopen();
    expect(again.dataDir?.recovery).toMatchObject({ keys: 1, dropped: 0 });
  });

  test("a restart with more live keys than --max-keys fails and names the fix", async () => {
    const store = await fx.reopen();
    await store.generate(10);
    await store.close();
    await expect(fx.reopen({ maxKeys: 5 })).rejects.toThrow(/--max-keys \(5\).*raise --max-keys/);
    expect((await fx.reopen()).dataDir?.recovery).toMatchObject({ keys: 10 });
  });

  test("a watermark from a clock a year ahead is ignored on restart, and the start-up report says so", async () => {
    const YEAR = 365 * 24 * 3_600_000;
    const ahead = new ManualScheduler(new ManualClock(fx.clock.now() + YEAR));
    const store = await fx.reopen({ scheduler: ahead });
    const [held, free] = await store.generate(2);
    const lease = await store.acquire();
    await store.close();

    // Back at the right time: blocks end within a block TTL, keys die after a keepalive TTL.
    const again = await fx.reopen();
    const restart = fx.clock.now();
    expect(again.dataDir?.recovery.warning).toMatch(/watermark .* lies ahead of this clock .* ignored/);
    expect(again.dataDir?.recovery.restartedAt).toBe(restart);
    expect(await again.get(lease.key)).toMatchObject({ state: "blocked", leaseId: lease.leaseId, blockedUntil: restart + BLOCK });
    expect((await again.get(held!.key === lease.key ? free!.key : held!.key)).expiresAt).toBe(restart + LIFE);
    fx.clock.advance(LIFE);
    expect(await again.stats()).toMatchObject({ total: 0 });
    await again.close();
    // The fix was persisted: the next restart neither warns nor brings the keys back.
    const third = await fx.reopen();
    expect(third.dataDir?.recovery.warning).toBeUndefined();
    expect(third.dataDir?.recovery).toMatchObject({ keys: 0 });
  });
});
