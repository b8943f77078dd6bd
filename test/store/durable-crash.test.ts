import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
import { backgroundScheduler } from "../../src/scheduler.js";
import { KeyPoolError } from "../../src/pool/index.js";
import { seededRandom, systemRandom } from "../../src/random.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import { makeTempDir, removeDir } from "../support/durable-dirs.js";

const WORKER = fileURLToPath(new URL("../support/durable-crash-worker.ts", import.meta.url));
const ROUNDS = 20;
/** Concurrent workers in the victim: at most this many acquires are in flight at a kill. */
const WORKERS = 8;

/** What the acknowledged history says a key is; "held" carries the lease that holds it. */
type Known = { readonly is: "free" } | { readonly is: "held"; readonly lease: string } | { readonly is: "gone" };
/** What the reopened store says a key is. */
type Actual = Known;

interface Round {
  /** Keys with a release or delete begun but not acknowledged when the process died. */
  readonly inFlight: Map<string, "release" | "delete">;
  readonly acks: number;
}

/** Runs the victim once on `dir`; kills it with SIGKILL `killAfterMs` after it is ready (or after spawn). */
async function runVictim(dir: string, seed: number, killAfterMs: number, waitForReady: boolean): Promise<string[]> {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER, dir, String(seed)], { stdio: ["ignore", "pipe", "pipe"] });
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
  return out.split("\n").slice(0, -1);
}

/** Applies one round's acknowledged events to `known`, checking that no key is ever held twice. */
function replay(lines: string[], known: Map<string, Known>): Round {
  const inFlight = new Map<string, "release" | "delete">();
  let acks = 0;
  for (const line of lines) {
    const e = JSON.parse(line) as { ack?: string; begin?: "release" | "delete"; key?: string; keys?: string[]; lease?: string };
    if (e.begin) inFlight.set(e.key!, e.begin);
    if (!e.ack) continue;
    acks++;
    if (e.ack === "generate") for (const k of e.keys!) known.set(k, { is: "free" });
    if (e.ack === "acquire") {
      const before = known.get(e.key!);
      expect(before?.is, "an acquire handed out a key that another acknowledged lease holds").not.toBe("held");
      expect(before?.is, "an acquire handed out a deleted key").not.toBe("gone");
      known.set(e.key!, { is: "held", lease: e.lease! });
    }
    if (e.ack === "release" || e.ack === "delete") {
      inFlight.delete(e.key!);
      known.set(e.key!, e.ack === "release" ? { is: "free" } : { is: "gone" });
    }
  }
  return { inFlight, acks };
}

async function actualOf(store: EmbeddedStore, key: string): Promise<Actual> {
  try {
    const info = await store.get(key);
    return info.state === "blocked" ? { is: "held", lease: info.leaseId! } : { is: "free" };
  } catch (err) {
    if (err instanceof KeyPoolError && err.code === "not-found") return { is: "gone" };
    throw err;
  }
}

/** Whether `actual` is a state the acknowledged history (plus operations in flight) allows. */
function allowed(expected: Known, actual: Actual, inFlight: "release" | "delete" | undefined): boolean {
  if (expected.is === "gone") return actual.is === "gone";
  if (expected.is === "free") return actual.is !== "gone"; // an in-flight acquire may have taken it
  const sameLease = actual.is === "held" && actual.lease === expected.lease;
  if (inFlight === "release") return actual.is !== "gone";
  if (inFlight === "delete") return sameLease || actual.is === "gone";
  return sameLease;
}

/** Reopens the dir, checks every key ever acknowledged, and adopts what the store holds. */
async function verify(dir: string, known: Map<string, Known>, round: Round): Promise<void> {
  const store = await EmbeddedStore.open({
    dataDir: dir, blockTtlMs: 600_000, keepaliveTtlMs: 3_600_000, maxKeys: 200_000, scheduler: backgroundScheduler, random: systemRandom,
  });
  try {
    let takenInFlight = 0;
    const actuals = await Promise.all([...known.keys()].map((key) => actualOf(store, key)));
    for (const [i, [key, expected]] of [...known].entries()) {
      const actual = actuals[i]!;
      const flight = round.inFlight.get(key);
      expect(allowed(expected, actual, flight), `${expected.is} key came back ${actual.is} (in flight: ${flight})`).toBe(true);
      const changedHands = actual.is === "held" && (expected.is !== "held" || actual.lease !== expected.lease);
      if (changedHands) takenInFlight++;
      known.set(key, actual);
    }
    expect(takenInFlight, "more keys newly held than acquires could be in flight").toBeLessThanOrEqual(WORKERS);
  } finally {
    await store.close();
  }
}

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir("crash");
});
afterAll(() => removeDir(dir));

test(`kill -9 at random moments, ${ROUNDS} times in a row: nothing acknowledged is lost`, async () => {
  const known = new Map<string, Known>();
  const timing = seededRandom(20_240_601);
  let acks = 0;
  for (let i = 0; i < ROUNDS; i++) {
    // Every fifth kill lands anywhere from spawn on, recovery included.
    const early = i % 5 === 4;
    const lines = await runVictim(dir, i + 1, early ? timing.int(800) : 30 + timing.int(370), !early);
    const round = replay(lines, known);
    acks += round.acks;
    await verify(dir, known, round);
  }
  expect(acks).toBeGreaterThan(ROUNDS * 20);
  expect([...known.values()].filter((k) => k.is === "gone").length).toBeGreaterThan(0);
}, 120_000);
