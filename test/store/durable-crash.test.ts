import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
import { backgroundScheduler } from "../../src/scheduler.js";
import { KeyPoolError } from "../../src/pool/index.js";
import { seededRandom, systemRandom } from "../../src/random.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import { makeTempDir, removeDir } from "../support/durable-dirs.js";
import { CrashLedger, crashRounds } from "../support/durable-ledger.js";
import type { Ending, KeyFate } from "../support/durable-ledger.js";

const WORKER = fileURLToPath(new URL("../support/durable-crash-worker.ts", import.meta.url));
/** Kill rounds: 8 in `npm test`, 20 per run of `npm run test:crash-loop`. */
const ROUNDS = crashRounds();
/** Concurrent workers in the victim: at most this many acquires are in flight at a kill. */
const WORKERS = 8;

/**
 * Runs the victim once on `dir`; kills it with SIGKILL `killAfterMs` after it is ready (or after
 * spawn). Returns the events it wrote to `events` (a file, not a pipe: see the worker).
 */
async function runVictim(dir: string, events: string, seed: number, killAfterMs: number, waitForReady: boolean): Promise<string[]> {
  await writeFile(events, "");
  const child = spawn(process.execPath, ["--import", "tsx", WORKER, dir, String(seed), events], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let timer: NodeJS.Timeout | undefined;
  const kill = (): void => void (timer ??= setTimeout(() => child.kill("SIGKILL"), killAfterMs));
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    if (out.startsWith('{"ready":true}\n')) kill();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  if (!waitForReady) kill();
  // Reaped before the next open, so its lock is seen as stale.
  await exited;
  if (child.signalCode !== "SIGKILL") throw new Error(`the victim ended by itself (${child.exitCode}): ${err.slice(-2_000)}`);
  // A line cut by the kill was never acknowledged.
  return (await readFile(events, "utf8")).split("\n").slice(0, -1);
}

/** Feeds one victim's events (its file, in order) into the ledger. */
function replay(lines: readonly string[], ledger: CrashLedger): void {
  for (const line of lines) {
    const e = JSON.parse(line) as { ack?: string; begin?: Ending; key?: string; keys?: string[]; lease?: string };
    if (e.begin) ledger.begun(e.key!, e.begin);
    if (e.ack === "generate") ledger.generated(e.keys!);
    if (e.ack === "acquire") ledger.acquired(e.key!, e.lease!);
    if (e.ack === "release" || e.ack === "delete") ledger.ended(e.key!, e.ack);
  }
}

async function fateOf(store: EmbeddedStore, key: string): Promise<KeyFate> {
  try {
    const info = await store.get(key);
    return info.state === "blocked" ? { is: "held", lease: info.leaseId! } : { is: "free" };
  } catch (err) {
    if (err instanceof KeyPoolError && err.code === "not-found") return { is: "gone" };
    throw err;
  }
}

/** Reopens the dir in this process and checks every key the ledger knows. */
async function verify(dir: string, ledger: CrashLedger, round: number): Promise<void> {
  const store = await EmbeddedStore.open({
    dataDir: dir, blockTtlMs: 600_000, keepaliveTtlMs: 3_600_000, maxKeys: 200_000, scheduler: backgroundScheduler, random: systemRandom,
  });
  try {
    ledger.check(await Promise.all(ledger.keys().map((key) => fateOf(store, key))), WORKERS, round);
  } finally {
    await store.close();
  }
}

let dir: string;
/** The victims' event files, outside the data dir. */
let logs: string;
beforeAll(async () => {
  dir = await makeTempDir("crash");
  logs = await makeTempDir("crash-events");
});
afterAll(async () => {
  await removeDir(dir);
  await removeDir(logs);
});

test(`kill -9 at random moments, ${ROUNDS} times in a row: nothing acknowledged is lost`, async () => {
  const ledger = new CrashLedger();
  const timing = seededRandom(20_240_601);
  for (let i = 0; i < ROUNDS; i++) {
    // Every fifth kill lands anywhere from spawn on, recovery included.
    const early = i % 5 === 4;
    const lines = await runVictim(dir, join(logs, `round-${i}.jsonl`), i + 1, early ? timing.int(800) : 30 + timing.int(370), !early);
    replay(lines, ledger);
    await verify(dir, ledger, i);
    expect(ledger.problems).toEqual([]);
  }
  // A sanity floor only: a loaded machine gets little done in a few hundred milliseconds.
  expect(ledger.acks).toBeGreaterThan(ROUNDS * 5);
  expect(ledger.count("gone")).toBeGreaterThan(0);
}, 120_000);
