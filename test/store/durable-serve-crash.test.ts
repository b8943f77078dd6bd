import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, test } from "vitest";
import { KeyService, KeyState } from "../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import type { TypedClient } from "../../src/grpc/typed-client.js";
import { seededRandom } from "../../src/random.js";
import type { Random } from "../../src/random.js";
import { makeTempDir, removeDir } from "../support/durable-dirs.js";
import { CrashLedger, crashRounds } from "../support/durable-ledger.js";
import type { Ending, KeyFate } from "../support/durable-ledger.js";
import { killAll, logLine, spawnKeypool } from "../support/serve-process.js";
import type { KeypoolProcess } from "../support/serve-process.js";

/**
 * The black-box kill -9 test: `keypool serve --data-dir` (the built package, as users run it) in
 * a process of its own, driven over gRPC by 16 callers that always have a call in flight, killed
 * with SIGKILL again and again on one data dir; every few rounds the kill lands during start-up
 * (the read probe, recovery, the listener). After each restart the ledger of acknowledged writes
 * is checked key by key over gRPC. `npm test` runs 5 rounds; `npm run test:serve-crash` runs 20
 * (KEYPOOL_CRASH_ROUNDS).
 */
const ROUNDS = crashRounds(5);
const CALLERS = 16;
/** Every fifth kill lands during start-up. */
const STARTUP_KILL_EVERY = 5;
const CALL_MS = 20_000;

type Client = TypedClient<typeof KeyService>;

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir("serve-crash");
});
afterAll(async () => {
  killAll();
  await removeDir(dir);
});

function startServer(): KeypoolProcess {
  return spawnKeypool(
    ["serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", dir, "--block-ttl", "10m", "--keepalive-ttl", "1h", "--log-level", "info"],
    { command: [process.execPath, "dist/src/cli/main.js"] },
  );
}

function grpcCode(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

/** What the restarted server says each key is, `keys` in order; 32 lookups at a time. */
async function fates(client: Client, keys: readonly string[]): Promise<KeyFate[]> {
  const out: KeyFate[] = new Array<KeyFate>(keys.length);
  let next = 0;
  const lookup = async (): Promise<void> => {
    for (let i = next++; i < keys.length; i = next++) {
      try {
        const { key } = await client.getKey({ key: keys[i]! }, { timeoutMs: CALL_MS });
        out[i] = key!.state === KeyState.BLOCKED ? { is: "held", lease: key!.leaseId } : { is: "free" };
      } catch (err) {
        if (grpcCode(err) !== status.NOT_FOUND) throw err;
        out[i] = { is: "gone" };
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, lookup));
  return out;
}

/** Calls in flight right now, over all callers. */
let inFlight = 0;

async function call<T>(promise: Promise<T>): Promise<T> {
  inFlight++;
  try {
    return await promise;
  } finally {
    inFlight--;
  }
}

/**
 * One caller: acquires, generates, releases and deletes (only keys it acquired itself) until a
 * call fails after the kill. Every acknowledged answer goes into the ledger as it arrives; a
 * failure before the kill is a problem.
 */
async function caller(client: Client, ledger: CrashLedger, pick: Random, killed: () => boolean): Promise<void> {
  const held: { key: string; lease: string }[] = [];
  for (;;) {
    const r = pick.int(100);
    try {
      if (held.length < 2 && r < 50) {
        try {
          const { key } = await call(client.acquireKey({}, { timeoutMs: CALL_MS }));
          ledger.acquired(key!.key, key!.leaseId);
          held.push({ key: key!.key, lease: key!.leaseId });
          continue;
        } catch (err) {
          if (grpcCode(err) !== status.NOT_FOUND) throw err;
        }
      }
      if (held.length === 0 || r < 65) {
        const { keys } = await call(client.generateKeys({ count: 1 + pick.int(2) }, { timeoutMs: CALL_MS }));
        ledger.generated(keys.map((k) => k.key));
        continue;
      }
      const { key, lease } = held.splice(pick.int(held.length), 1)[0]!;
      const op: Ending = r < 85 ? "release" : "delete";
      ledger.begun(key, op);
      await (op === "release" ? call(client.releaseKey({ key, leaseId: lease }, { timeoutMs: CALL_MS })) : call(client.deleteKey({ key }, { timeoutMs: CALL_MS })));
      ledger.ended(key, op);
    } catch (err) {
      if (!killed()) ledger.problems.push(`a call failed before the kill: ${(err as Error).message}`);
      return;
    }
  }
}

/** Starts the server, checks the ledger against it, and kills it while 16 calls are in flight. */
async function runningRound(round: number, ledger: CrashLedger, timing: Random): Promise<number> {
  const started = Date.now();
  const server = startServer();
  const { port } = await logLine(server.child, (line) => typeof line.port === "number");
  const startupMs = Date.now() - started;
  const client = createTypedClient(KeyService, `127.0.0.1:${port as number}`);
  try {
    ledger.check(await fates(client, ledger.keys()), CALLERS, round);
    let killed = false;
    const callers = Array.from({ length: CALLERS }, (_, i) => caller(client, ledger, seededRandom(round * 100 + i), () => killed));
    // Killed after a random number of answers, not of milliseconds: a loaded machine answers late.
    const target = ledger.acks + 10 + timing.int(150);
    while (ledger.acks < target && !ledger.problems.length) await new Promise((resolve) => setTimeout(resolve, 2));
    if (!ledger.problems.length) expect(inFlight, "calls in flight at the kill").toBe(CALLERS);
    killed = true;
    server.child.kill("SIGKILL");
    await Promise.all(callers);
    await server.exited;
  } finally {
    client.close();
  }
  return startupMs;
}

/** Starts the server and kills it `afterMs` after spawn: in start-up or recovery when short enough. */
async function startupRound(afterMs: number): Promise<void> {
  const server = startServer();
  setTimeout(() => server.child.kill("SIGKILL"), afterMs);
  await server.exited;
}

test(`keypool serve --data-dir, SIGKILL with ${CALLERS} calls in flight, ${ROUNDS} rounds: every acknowledged write survives`, async () => {
  const ledger = new CrashLedger();
  const timing = seededRandom(20_261_201);
  let startupMs = 1_000;
  for (let round = 0; round < ROUNDS; round++) {
    if (round % STARTUP_KILL_EVERY === STARTUP_KILL_EVERY - 1) await startupRound(timing.int(startupMs));
    else startupMs = await runningRound(round, ledger, timing);
    expect(ledger.problems).toEqual([]);
  }
  // The last kill is checked too: one more start, then a clean stop.
  const server = startServer();
  const { port } = await logLine(server.child, (line) => typeof line.port === "number");
  const client = createTypedClient(KeyService, `127.0.0.1:${port as number}`);
  ledger.check(await fates(client, ledger.keys()), CALLERS, ROUNDS);
  client.close();
  server.child.kill("SIGTERM");
  expect(await server.exited).toBe(0);
  expect(ledger.problems).toEqual([]);
  console.log(`${ROUNDS} kills, ${ledger.acks} acknowledged writes, ${ledger.keys().length} keys checked after every restart`);
  // Each running round waits for at least 10 answers before its kill.
  expect(ledger.acks).toBeGreaterThanOrEqual(ROUNDS * 8);
  expect(ledger.count("gone")).toBeGreaterThan(0);
  expect(ledger.count("held")).toBeGreaterThan(0);
}, 300_000);
