import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll } from "vitest";
import { RedisStore } from "../../src/store/redis-store.js";
import type { RedisStoreOptions } from "../../src/store/redis-store.js";
import { RedisServer } from "./redis-server.js";

/** One redis-server for a test file, a fresh pool per test, and the stores each test opened. */
export interface RedisStoreFixture {
  /** The server's URL. */
  readonly url: string;
  /** A plain client for looking into (or damaging) what the stores keep. */
  readonly admin: Redis;
  /** This test's pool: `prefix` + the test's number, so no two tests share one. */
  readonly pool: string;
  /** Opens a store on this test's pool (unless `options` name another), closed after the test. */
  open(options?: Partial<RedisStoreOptions>): Promise<RedisStore>;
  /** Runs `cleanup` after this test (with the stores' closes, last registered first). */
  defer(cleanup: () => unknown): void;
}

/**
 * Registers the hooks of a Redis store test file: starts a redis-server before its tests, closes
 * every store a test opened after it (last opened first) and moves on to a new pool, and disposes
 * of the server at the end. `settings` are every store's unless `open` is told otherwise.
 */
export function redisStoreFixture(prefix: string, settings: Partial<RedisStoreOptions>): RedisStoreFixture {
  let server: RedisServer | undefined;
  let admin: Redis | undefined;
  let tests = 0;
  const cleanups: (() => unknown)[] = [];
  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.url);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    tests++;
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.dispose();
  });
  const fixture: RedisStoreFixture = {
    get url() {
      return server!.url;
    },
    get admin() {
      return admin!;
    },
    get pool() {
      return `${prefix}${tests}`;
    },
    async open(options = {}) {
      const store = await RedisStore.open({
        url: fixture.url, pool: fixture.pool, ...settings, sweepIntervalMs: 0, ...options,
      } as RedisStoreOptions);
      cleanups.push(() => store.close());
      return store;
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
  };
  return fixture;
}
