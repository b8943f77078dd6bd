/**
 * Child process: a keypool gRPC server on 127.0.0.1 (port 0) with the bench echo service, a
 * store of `--store` kind preloaded with `--keys` keys; with `--pools N`, instead N named memory
 * pools `pool-0`... of `--keys` / N keys each in one EmbeddedPools (section 8). Reports "ready" with its port; answers
 * "usage" with its CPU time; shuts down on "stop" or when the orchestrator goes away.
 */
import { parseArgs } from "node:util";
import { pino } from "pino";
import { startServer } from "../src/server/server.js";
import type { RunningServer } from "../src/server/server.js";
import type { KeyStore } from "../src/store/key-store.js";
import { reply, serveParent } from "./child.js";
import { addEchoService } from "./echo-service.js";
import { TTLS, openBenchStore } from "./stores.js";
import { singlePoolSet } from "../src/store/pool-set.js";
import type { PoolSet } from "../src/store/pool-set.js";
import { EmbeddedPools } from "../src/store/embedded-pools.js";
import { backgroundScheduler } from "../src/scheduler.js";
import { systemRandom } from "../src/random.js";

async function preload(store: KeyStore, keys: number): Promise<void> {
  for (let left = keys; left > 0; left -= 1000) await store.generate(Math.min(1000, left));
}

/** `count` memory pools `pool-0`... of `keys` / `count` generated keys each (the default pool stays empty). */
async function namedPools(count: number, keys: number): Promise<PoolSet> {
  const perPool = Math.ceil(keys / count);
  const set = await EmbeddedPools.open({ ...TTLS, maxKeys: perPool, maxPools: count + 1, scheduler: backgroundScheduler, random: systemRandom });
  for (let i = 0; i < count; i++) await preload(set.pool(`pool-${i}`, true), perPool);
  return set;
}

/** The server's grpc_server_handled_total, as "Method code" -> count (what h2load cannot see). */
async function handledCounts(server: RunningServer | undefined): Promise<Record<string, number>> {
  const metric = server?.metrics.registry.getSingleMetric("grpc_server_handled_total");
  if (!metric) return {};
  const { values } = await metric.get();
  return Object.fromEntries(values.map((v) => [`${String(v.labels.grpc_method)} ${String(v.labels.grpc_code)}`, v.value]));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      store: { type: "string", default: "memory" }, keys: { type: "string", default: "100000" }, "max-keys": { type: "string", default: "1100000" },
      pools: { type: "string", default: "0" },
    },
  });
  const started = Date.now();
  let pools: PoolSet;
  let kind = "memory";
  if (Number(values.pools) > 0) {
    pools = await namedPools(Number(values.pools), Number(values.keys));
  } else {
    const store = await openBenchStore(values.store!, Number(values["max-keys"]));
    await preload(store, Number(values.keys));
    pools = singlePoolSet(store);
    kind = store.describe().store;
  }
  const preloadMs = Date.now() - started;
  let server: RunningServer | undefined;
  serveParent(
    async (m) => {
      if (m.type === "usage") reply({ type: "usage", cpu: process.cpuUsage(), memory: process.memoryUsage().rss });
      if (m.type === "handled") reply({ type: "handled", counts: await handledCounts(server) });
    },
    async () => {
      await server?.shutdown();
    },
  );
  server = await startServer({
    host: "127.0.0.1",
    port: 0,
    pools,
    log: pino({ level: "silent" }),
    shutdownGraceMs: 1_000,
    configure: addEchoService,
  });
  reply({ type: "ready", port: server.port, preloadMs, store: kind });
}

void main().catch((err: unknown) => {
  reply({ type: "error", message: String((err as Error)?.stack ?? err) });
  process.exitCode = 1;
});
