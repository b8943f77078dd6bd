import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { KeyPoolError } from "../../src/pool/index.js";
import { seededRandom } from "../../src/random.js";
import { ManualScheduler } from "../../src/scheduler.js";
import { EmbeddedPools } from "../../src/store/embedded-pools.js";
import type { EmbeddedPoolsOptions } from "../../src/store/embedded-pools.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import { DURABLE_DEFAULTS, makeTempDir, removeDir } from "../support/durable-dirs.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await makeTempDir("pools");
  cleanups.push(() => removeDir(dir));
  return dir;
}

/** Opens pools on `scheduler`'s clock (closed after the test). */
async function open(scheduler: ManualScheduler, options: Partial<EmbeddedPoolsOptions> = {}): Promise<EmbeddedPools> {
  const pools = await EmbeddedPools.open({ ...DURABLE_DEFAULTS, scheduler, random: seededRandom(3), maxPools: 10, ...options });
  cleanups.push(() => pools.close());
  return pools;
}

describe("EmbeddedPools", () => {
  it("sweeps every pool with one timer, waking at the earliest deadline of any pool", async () => {
    const scheduler = new ManualScheduler(new ManualClock());
    const pools = await open(scheduler);
    for (let i = 0; i < 8; i++) await pools.pool(`p${i}`, true).generate(3);
    expect(scheduler.pending).toBe(1);
    const p5 = pools.pool("p5", false);
    const [k] = await p5.generate(1);
    await p5.release(k!.key, undefined, 1_000);
    const freed: string[] = [];
    pools.onKeysFreed((pool) => freed.push(pool));
    scheduler.advance(1_000);
    expect(freed).toEqual(["p5"]);
    expect((await p5.get(k!.key)).state).toBe("free");
    expect(scheduler.pending).toBe(1);
  });

  it("refuses a pool past --max-pools with RESOURCE_EXHAUSTED naming the flag; the default pool counts", async () => {
    const pools = await open(new ManualScheduler(new ManualClock()), { maxPools: 2 });
    pools.pool("one", true);
    const err = (() => {
      try {
        pools.pool("two", true);
      } catch (e) {
        return e as KeyPoolError;
      }
      throw new Error("expected RESOURCE_EXHAUSTED");
    })();
    expect(err.code).toBe("resource-exhausted");
    expect(err.message).toMatch(/--max-pools/);
    expect(pools.poolNames()).toEqual(["default", "one"]);
  });

  it("keeps every pool's keys, leases and cooldowns in one data dir across a restart", async () => {
    const dir = await tempDir();
    const clock = new ManualClock();
    const first = await open(new ManualScheduler(clock), { dataDir: dir });
    const openai = first.pool("openai", true);
    const [imported] = await openai.import(["sk-proj-restart-me-0001", "sk-proj-restart-me-0002"]);
    const held = await openai.acquire();
    const parked = (await openai.list({ pageSize: 10, pageToken: "" })).keys.find((k) => k.key !== held.key)!;
    await openai.release(parked.key, undefined, 30_000);
    const [home] = await first.pool("", true).generate(1);
    await first.close();

    const second = await open(new ManualScheduler(clock), { dataDir: dir });
    expect(second.poolNames()).toEqual(expect.arrayContaining(["default", "openai"]));
    const again = second.pool("openai", false);
    expect(await again.get(held.key)).toMatchObject({ state: "blocked", leaseId: held.leaseId });
    expect(await again.get(parked.key)).toMatchObject({ state: "cooling", cooldownUntil: clock.now() + 30_000 });
    expect(imported!.key).toMatch(/^sk-proj-restart-me/);
    expect((await second.pool("default", false).get(home!.key)).state).toBe("free");
    await expect(second.pool("default", false).get(held.key)).rejects.toMatchObject({ code: "not-found" });
  });

  it("opens a data dir written before pools as the default pool, whatever --pool names it", async () => {
    const dir = await tempDir();
    const scheduler = new ManualScheduler(new ManualClock());
    const old = await EmbeddedStore.open({ ...DURABLE_DEFAULTS, scheduler, random: seededRandom(4), dataDir: dir });
    const made = await old.generate(3);
    await old.close();
    const pools = await open(scheduler, { dataDir: dir, defaultPool: "main" });
    expect(pools.defaultPool).toBe("main");
    for (const k of made) expect((await pools.pool("", false).get(k.key)).key).toBe(k.key);
    expect(await pools.pool("main", false).stats()).toMatchObject({ total: 3 });
  });

  it("refuses a data dir with named pools to a lone EmbeddedStore, naming the dir", async () => {
    const dir = await tempDir();
    const scheduler = new ManualScheduler(new ManualClock());
    const pools = await open(scheduler, { dataDir: dir });
    await pools.pool("named", true).generate(1);
    await pools.close();
    await expect(EmbeddedStore.open({ ...DURABLE_DEFAULTS, scheduler, random: seededRandom(5), dataDir: dir })).rejects.toThrow(/pool "named"/);
  });

  it("stops serving every pool at once when the shared data dir fails: UNAVAILABLE, never a wrong answer", async () => {
    const dir = await tempDir();
    const pools = await open(new ManualScheduler(new ManualClock()), { dataDir: dir });
    const [a, b] = [pools.pool("", true), pools.pool("other", true)];
    const [key] = await b.generate(1);
    const changes: boolean[] = [];
    pools.onServingChange((serving) => changes.push(serving));
    pools.dataDir!.fail(new Error("EIO: i/o error, write (injected by the test)"));
    expect(pools.isServing()).toBe(false);
    expect(changes).toEqual([false]);
    for (const store of [a, b]) {
      expect(store.isServing()).toBe(false);
      await expect(store.acquire()).rejects.toMatchObject({ code: "unavailable" });
      await expect(store.get(key!.key)).rejects.toMatchObject({ code: "unavailable" });
      await expect(store.import(["fresh-secret-01"])).rejects.toMatchObject({ code: "unavailable" });
    }
  });

  it("cuts a cooldown a clock set ahead wrote to at most --max-cooldown after the restart", async () => {
    const dir = await tempDir();
    const YEAR = 365 * 24 * 3_600_000;
    const clock = new ManualClock();
    const ahead = await open(new ManualScheduler(new ManualClock(clock.now() + YEAR)), { dataDir: dir, maxCooldownMs: 60_000 });
    const [k] = await ahead.pool("named", true).import(["parked-secret-01"]);
    await ahead.pool("named", false).release(k!.key, undefined, 60_000);
    await ahead.close();
    const back = await open(new ManualScheduler(clock), { dataDir: dir, maxCooldownMs: 60_000 });
    expect(await back.pool("named", false).get(k!.key)).toMatchObject({ state: "cooling", cooldownUntil: clock.now() + 60_000 });
  });
});
