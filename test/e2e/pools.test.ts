import { timestampMs, durationFromMs } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyService, KeyState } from "../../gen/keypool/v1/keypool_pb.js";
import type { KeyInfo } from "../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import type { TypedClient } from "../../src/grpc/typed-client.js";
import { makeTempDir, removeDir } from "../support/durable-dirs.js";
import { RedisServer } from "../support/redis-server.js";
import { killAll, logLine, spawnKeypool } from "../support/serve-process.js";

/**
 * Issue 13 end to end: real `keypool serve` processes (memory, durable and Redis stores), real
 * gRPC clients, real time. Pools keep their keys apart under 4,000 concurrent acquires, and a
 * 2 s cooldown parks a key exactly until its `cooldown_until`.
 */
type Client = TypedClient<typeof KeyService>;

/** How far the client's wall clock may read a server instant early (ms rounding; same host). */
const CLOCK_TOLERANCE_MS = 5;
/** How late a waiting acquire may be served after a cooldown ends, on a loaded 2-core machine. */
const WAKE_LATENESS_MS = 1_000;

interface Served {
  readonly address: string;
  /** Separate connections: one channel carries at most --max-calls-per-connection calls at once. */
  readonly clients: readonly Client[];
}

/** Starts `keypool serve` with `args` on 127.0.0.1:0 and opens `channels` connections to it. */
async function serve(args: readonly string[], channels: number): Promise<Served> {
  const p = spawnKeypool(["serve", "--host", "127.0.0.1", "--port", "0", "--log-level", "info", ...args]);
  const { port } = await logLine(p.child, (line) => typeof line.port === "number");
  const address = `127.0.0.1:${port}`;
  const clients = Array.from({ length: channels }, () =>
    createTypedClient(KeyService, address, undefined, { "grpc.use_local_subchannel_pool": 1 }));
  return { address, clients };
}

const POOLS = ["openai", "github", "licences"] as const;

interface Store { readonly name: string; readonly args: () => Promise<readonly string[]> }

let redis: RedisServer | undefined;
let dataDir: string | undefined;
const STORES: readonly Store[] = [
  { name: "memory", args: async () => [] },
  { name: "durable", args: async () => ["--data-dir", (dataDir ??= await makeTempDir("pools-e2e"))] },
  { name: "redis", args: async () => ["--store", "redis", "--redis-url", (redis ??= await RedisServer.start()).url, "--pool", "e2e"] },
];

afterAll(async () => {
  killAll();
  await redis?.dispose();
  if (dataDir) await removeDir(dataDir);
});

/** Adds 1,000 keys to `pool`: imported secrets for the first pool, generated keys for the others. */
async function fill(client: Client, pool: string): Promise<Set<string>> {
  const { keys } = pool === POOLS[0]
    ? await client.importKeys({ pool, keys: Array.from({ length: 1000 }, (_, i) => `sk-e2e-${String(i).padStart(6, "0")}-${"x".repeat(40)}`) })
    : await client.generateKeys({ pool, count: 1000 });
  expect(keys.every((k) => k.pool === pool && k.state === KeyState.FREE)).toBe(true);
  return new Set(keys.map((k) => k.key));
}

describe.each(STORES)("pools end to end on the $name store", (store) => {
  let served: Served;
  beforeAll(async () => {
    served = await serve(await store.args(), 4);
  }, 60_000);
  afterAll(() => served?.clients.forEach((c) => c.close()));

  it("3 pools of 1,000 keys, 4,000 concurrent AcquireKey spread over them: exactly 1,000 distinct keys per pool, none from another", async () => {
    const [first] = served.clients;
    const owned = new Map<string, Set<string>>();
    for (const pool of POOLS) owned.set(pool, await fill(first!, pool));
    const calls = Array.from({ length: 4000 }, (_, i) => {
      const pool = POOLS[i % POOLS.length]!;
      return served.clients[i % served.clients.length]!.acquireKey({ pool }).then(
        ({ key }) => ({ pool, key: key! }),
        (err: grpc.ServiceError) => ({ pool, code: err.code }),
      );
    });
    const outcomes = await Promise.all(calls);
    for (const pool of POOLS) {
      const mine = outcomes.filter((o) => o.pool === pool);
      const won = mine.flatMap((o) => ("key" in o ? [o.key] : []));
      const keys = won.map((k) => k.key);
      // On failure, say what the other calls got (NOT_FOUND is the only right refusal here).
      const codes = mine.flatMap((o) => ("code" in o ? [grpc.status[o.code]] : [])).reduce<Record<string, number>>((t, c) => ({ ...t, [c!]: (t[c!] ?? 0) + 1 }), {});
      expect(new Set(keys).size, `distinct keys of ${pool} (the other calls: ${JSON.stringify(codes)})`).toBe(1000);
      expect(keys.length, `keys handed out from ${pool}`).toBe(1000);
      expect(keys.filter((k) => !owned.get(pool)!.has(k)), `keys of ${pool} from another pool`).toEqual([]);
      expect(won.every((k) => k.pool === pool && k.state === KeyState.BLOCKED)).toBe(true);
      expect(mine.filter((o) => "code" in o).map((o) => (o as { code: number }).code)).toEqual(Array(mine.length - 1000).fill(grpc.status.NOT_FOUND));
    }
    for (const pool of POOLS) expect(await first!.getPoolStats({ pool })).toMatchObject({ total: 1000n, free: 0n, blocked: 1000n });
  }, 120_000);

  it("a cooldown of 2 s: COOLING until cooldown_until, never acquired before it, a waiting acquire served at it", async () => {
    const [client] = served.clients;
    const pool = "cooldown";
    const [made] = (await client!.generateKeys({ pool, count: 1 })).keys;
    const held = (await client!.acquireKey({ pool })).key!;
    const before = Date.now();
    const released = (await client!.releaseKey({ pool, key: made!.key, leaseId: held.leaseId, cooldown: durationFromMs(2_000) })).key!;
    const after = Date.now();
    expect(released).toMatchObject({ key: made!.key, state: KeyState.COOLING, pool, leaseId: "" });
    const until = timestampMs(released.cooldownUntil!);
    expect(until).toBeGreaterThanOrEqual(before + 2_000 - CLOCK_TOLERANCE_MS);
    expect(until).toBeLessThanOrEqual(after + 2_000 + CLOCK_TOLERANCE_MS);
    await expect(client!.acquireKey({ pool })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    expect((await client!.getKey({ pool, key: made!.key })).key).toMatchObject({ state: KeyState.COOLING });
    expect(await client!.getPoolStats({ pool })).toMatchObject({ total: 1n, free: 0n, cooling: 1n });
    const listed = await client!.listKeys({ pool, state: KeyState.COOLING });
    expect(listed.keys.map((k) => k.key)).toEqual([made!.key]);
    // Keepalives work on a cooling key and leave it cooling.
    expect((await client!.keepAliveKey({ pool, key: made!.key })).key).toMatchObject({ state: KeyState.COOLING });
    const waited: KeyInfo = (await client!.acquireKey({ pool, wait: durationFromMs(10_000) })).key!;
    const servedAt = Date.now();
    expect(waited.key).toBe(made!.key);
    expect(timestampMs(waited.acquiredAt!), "acquired (server time) before the cooldown ended").toBeGreaterThanOrEqual(until);
    expect(servedAt, "answered (client time) before the cooldown ended").toBeGreaterThanOrEqual(until - CLOCK_TOLERANCE_MS);
    console.log(`cooldown e2e (${store.name}): cooldown_until = release + ${until - after}..${until - before} ms, ` +
      `waiter served ${servedAt - until} ms after it (acquired_at ${timestampMs(waited.acquiredAt!) - until} ms after)`);
    expect(servedAt - until, "how late the waiter was served").toBeLessThanOrEqual(WAKE_LATENESS_MS);
  }, 60_000);
});
