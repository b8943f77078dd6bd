import { cp, open, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { KeyInfo } from "../../src/pool/index.js";
import { seededRandom } from "../../src/random.js";
import { DataDirError } from "../../src/store/embedded-store.js";
import { DataDirFixture, makeTempDir } from "../support/durable-dirs.js";

const PAGE = 4096;
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

let source: DataDirFixture;
let expected: KeyInfo[];
beforeAll(async () => {
  source = new DataDirFixture(await makeTempDir("damage-src"));
  const store = await source.reopen({ maxKeys: 5_000 });
  const keys: string[] = [];
  for (let i = 0; i < 3; i++) keys.push(...(await store.generate(1_000)).map((k) => k.key));
  for (let i = 0; i < 200; i++) await store.acquire();
  await store.close();
  const again = await source.reopen({ maxKeys: 5_000 });
  expected = await Promise.all(keys.map((key) => again.get(key)));
  await again.close();
}, 120_000);
afterAll(() => source.dispose());

/** Overwrites three random pages of data.mdb (meta pages included) with random bytes. */
async function corrupt(dir: string, seed: number): Promise<number[]> {
  const random = seededRandom(seed);
  const file = join(dir, "data.mdb");
  const pages = Math.floor((await stat(file)).size / PAGE);
  const hit = [random.int(pages), random.int(pages), random.int(pages)];
  const handle = await open(file, "r+");
  try {
    for (const page of hit) {
      const junk = Buffer.alloc(PAGE);
      for (let i = 0; i < PAGE; i++) junk[i] = random.int(256);
      await handle.write(junk, 0, PAGE, page * PAGE);
    }
  } finally {
    await handle.close();
  }
  return hit;
}

test.each(SEEDS)("three random pages of a real data.mdb overwritten (seed %i): the full pool or a one-line refusal, never part of it", async (seed) => {
  const fx = new DataDirFixture(await makeTempDir(`damage-${seed}`));
  try {
    await cp(source.dir, fx.dir, { recursive: true });
    const hit = await corrupt(fx.dir, seed);
    const opened = await fx.reopen({ maxKeys: 5_000 }).then((store) => store, (err: unknown) => err as Error);
    if (!(opened instanceof Error)) {
      // Every page hit was one the pool does not use: every key, with its state, lease and token.
      expect((await opened.stats()).total, `pages ${hit.join(", ")}`).toBe(expected.length);
      for (const info of expected) {
        expect(await opened.get(info.key), `pages ${hit.join(", ")}`).toMatchObject({ state: info.state, leaseId: info.leaseId, fencingToken: info.fencingToken });
      }
      return;
    }
    expect(opened, `pages ${hit.join(", ")}: ${opened.message}`).toBeInstanceOf(DataDirError);
    expect(opened.message).toContain(fx.dir);
    expect(opened.message).toMatch(/data\.mdb is damaged|not an LMDB data file|second meta page/);
    expect(opened.message).not.toContain("\n");
  } finally {
    await fx.dispose();
  }
}, 60_000);
