import type * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { ManualClock } from "../../src/clock.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import type { TypedClient } from "../../src/grpc/typed-client.js";
import { seededRandom } from "../../src/random.js";
import { startServer } from "../../src/server/server.js";
import type { RunningServer, ServerOptions } from "../../src/server/server.js";
import { ManualScheduler } from "../../src/scheduler.js";
import { EmbeddedPools } from "../../src/store/embedded-pools.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import type { KeyStore } from "../../src/store/key-store.js";
import { singlePoolSet } from "../../src/store/pool-set.js";
import type { PoolSet } from "../../src/store/pool-set.js";

/**
 * A KeyService on 127.0.0.1:0 with an in-memory store on a manual clock, and a client for it.
 * Nothing in the server keeps real time: its sweeper and waiting acquires run on `scheduler`.
 */
export interface TestServer {
  readonly clock: ManualClock;
  /** Timers on `clock`: `scheduler.advance(ms)` moves server time and fires what falls due. */
  readonly scheduler: ManualScheduler;
  readonly store: KeyStore;
  readonly server: RunningServer;
  readonly client: TypedClient<typeof KeyService>;
  readonly address: string;
  /** Closes the client, shuts the server down and waits for connections to drain. */
  close(): Promise<void>;
}

/** Default TTLs of test servers: the production defaults. */
export const TEST_TTLS = { blockTtlMs: 60_000, keepaliveTtlMs: 300_000 } as const;

/**
 * Starts a test server: one in-memory pool, or with `maxPools` the named pools of EmbeddedPools
 * (as `keypool serve` runs them, at most `maxPools`). Pass `store` to serve another store as the
 * only pool, or `pools` to serve a PoolSet (`store` is then its default pool's store); their
 * clocks are then yours to drive.
 */
export async function startTestServer(
  options: {
    maxKeys?: number; maxPools?: number; store?: KeyStore; pools?: PoolSet; clock?: ManualClock; scheduler?: ManualScheduler;
    server?: Partial<ServerOptions>; credentials?: grpc.ChannelCredentials;
  } = {},
): Promise<TestServer> {
  const clock = options.scheduler?.clock ?? options.clock ?? new ManualClock();
  const scheduler = options.scheduler ?? new ManualScheduler(clock);
  const settings = { ...TEST_TTLS, maxKeys: options.maxKeys ?? 100_000, scheduler, random: seededRandom(7) };
  const pools =
    options.pools ??
    (options.maxPools === undefined
      ? singlePoolSet(options.store ?? EmbeddedStore.memory(settings))
      : await EmbeddedPools.open({ ...settings, maxPools: options.maxPools }));
  const store = pools.pool("", false);
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    pools,
    log: pino({ level: "silent" }),
    shutdownGraceMs: 1_000,
    scheduler,
    ...options.server,
  });
  const address = `127.0.0.1:${server.port}`;
  const client = createTypedClient(KeyService, address, options.credentials);
  return {
    clock,
    scheduler,
    store,
    server,
    client,
    address,
    close: async () => {
      client.close();
      await server.shutdown();
    },
  };
}

/** The gRPC status code of a rejected call, or "OK". */
export async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "OK";
  } catch (err) {
    const { status } = await import("@grpc/grpc-js");
    return status[(err as { code: number }).code] ?? String(err);
  }
}
