import { mkdir, rename, rm } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { KeyPoolError } from "../../src/pool/index.js";
import type { EmbeddedStore } from "../../src/store/embedded-store.js";
import { DataDirFixture, makeTempDir, removeDir } from "../support/durable-dirs.js";

/** Rejects with UNAVAILABLE, naming the data dir. */
async function expectUnavailable(call: Promise<unknown>, dir: string): Promise<void> {
  const err = await call.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(KeyPoolError);
  expect((err as KeyPoolError).code).toBe("unavailable");
  expect((err as Error).message).toContain(dir);
}

/** Lets the store's off-loop checks (a stat) finish. */
async function settle(store: EmbeddedStore): Promise<void> {
  for (let i = 0; i < 50 && store.isServing(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe("DurableStore: the data dir taken away under a running server stops it serving", () => {
  let fx: DataDirFixture;
  beforeEach(async () => {
    fx = new DataDirFixture(await makeTempDir("faults"));
  });
  afterEach(() => fx.dispose());

  test("rm -rf of the dir: the next write is UNAVAILABLE, never acknowledged, and the store reports NOT_SERVING", async () => {
    const store = await fx.reopen();
    const serving: boolean[] = [];
    store.onServingChange((s) => serving.push(s));
    await store.generate(5);
    await rm(fx.dir, { recursive: true, force: true });
    await expectUnavailable(store.generate(5), fx.dir);
    await expectUnavailable(store.acquire(), fx.dir);
    await expectUnavailable(store.stats(), fx.dir);
    expect(store.isServing()).toBe(false);
    expect(serving).toEqual([false]);
  });

  test("an idle server notices too, at its next upkeep", async () => {
    const store = await fx.reopen();
    await store.generate(5);
    await rm(fx.dir, { recursive: true, force: true });
    store.dataDir!.runUpkeep();
    await settle(store);
    expect(store.isServing()).toBe(false);
  });

  test("the dir replaced by another one (moved away, a new one made in its place)", async () => {
    const store = await fx.reopen();
    await store.generate(5);
    await rename(fx.dir, `${fx.dir}-moved`);
    await mkdir(fx.dir);
    try {
      await expectUnavailable(store.generate(1), fx.dir);
    } finally {
      await removeDir(`${fx.dir}-moved`);
    }
  });
});
