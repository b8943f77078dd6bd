import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "../../src/clock.js";
import { seededRandom } from "../../src/random.js";
import { ManualScheduler } from "../../src/scheduler.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import type { EmbeddedStoreOptions } from "../../src/store/embedded-store.js";

/** The TTLs and capacity durability tests use unless they say otherwise. */
export const DURABLE_DEFAULTS = { blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: 1_000 } as const;

/** A fresh temp dir for one test; remove it with `removeDir`. */
export async function makeTempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `keypool-${label}-`));
}

/** Removes a temp dir made by `makeTempDir`. Idempotent. */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * One data dir, reopened as often as a test likes with the same ManualClock, so a test can close
 * a store, move time as if the server were down, and open it again.
 */
export class DataDirFixture {
  readonly clock = new ManualClock();
  /** Timers on the same clock: the sweeper and the upkeep run only when a test advances it. */
  readonly scheduler = new ManualScheduler(this.clock);
  private seed = 1;
  private readonly open = new Set<EmbeddedStore>();

  constructor(readonly dir: string) {}

  /** Opens a store on the dir (defaults above, `overrides` on top). */
  async reopen(overrides: Partial<EmbeddedStoreOptions> = {}): Promise<EmbeddedStore> {
    const store = await EmbeddedStore.open({
      ...DURABLE_DEFAULTS,
      dataDir: this.dir,
      scheduler: this.scheduler,
      random: seededRandom(this.seed++),
      ...overrides,
    });
    this.open.add(store);
    return store;
  }

  /** Closes every store this fixture opened and removes the dir. */
  async dispose(): Promise<void> {
    await Promise.all([...this.open].map((s) => s.close()));
    await removeDir(this.dir);
  }
}
