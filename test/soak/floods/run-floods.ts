/**
 * `npm run soak:floods`: floods a real keypool server with the attacks that grew its memory
 * before (health Watch with unique 30 KB names, reflection streams that never read, refused calls
 * that each wrote a log line, KeepAlive streams that never read) and asserts that its RSS grows by less than a fixed cap, and by
 * less than a smaller cap in the flood's second half (a leak grows all along; a bound levels
 * off), while a probe client (with a token, from the same loopback address) is answered every
 * time with a p99 latency within a stated factor of its idle p99. One fresh server per
 * attack; bounded in time; kills every process it started. Prints one JSON line per attack;
 * exits 1 when a cap is broken.
 *
 *   npm run soak:floods -- [--attack watch|reflection|refused|keepalive-never-read|all] [--duration 20s] [--cap-mb 128]
 *                          [--second-half-cap-mb 48] [--p99-factor 20]
 */
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { readFileSync, rmSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { KeyService } from "../../../gen/keypool/v1/keypool_pb.js";
import { parseDuration } from "../../../src/cli/duration.js";
import { createTypedClient } from "../../../src/grpc/typed-client.js";
import { hashToken } from "../../../src/server/auth.js";
import { startSoakServer } from "../soak-server.js";
import type { SoakServer } from "../soak-server.js";
import { ATTACKS } from "./flood-attacks.js";
import type { Attack } from "./flood-attacks.js";
import { FLOOD_TOKEN } from "./transport-attacks.js";

const ATTACKER = new URL("./flood-attacks.ts", import.meta.url);
const TOKEN = FLOOD_TOKEN;
/** The server's V8 old-space limit during a flood. */
const HEAP_MB = 96;
const live: { server?: SoakServer; attacker?: ChildProcess } = {};

/** The server's resident set size in MB (Linux /proc). */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) / 1024;
}

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN;
}

/** Calls GetPoolStats (with the admin token) every 20 ms until `stop`; returns the latencies in ms and the failures. */
async function probe(address: string, stop: () => boolean): Promise<{ latencies: number[]; failures: Record<string, number> }> {
  const client = createTypedClient(KeyService, address);
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${TOKEN}`);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  while (!stop()) {
    const start = performance.now();
    const failed = await client.getPoolStats({}, { metadata, timeoutMs: 10_000 }).then(
      () => undefined,
      (e: grpc.ServiceError) => `${grpc.status[e.code]}: ${e.details.slice(0, 80)}`,
    );
    if (failed) failures[failed] = (failures[failed] ?? 0) + 1;
    else latencies.push(performance.now() - start);
    await new Promise((r) => setTimeout(r, 20));
  }
  client.close();
  return { latencies, failures };
}

async function runAttack(attack: Attack, durationMs: number, authFile: string): Promise<Record<string, unknown>> {
  // A small heap, as the attacks that killed the server before were run with: a leak ends it.
  const server = await startSoakServer({
    blockTtl: "60s", keepaliveTtl: "5m", maxKeys: 10_000, extraArgs: ["--auth-file", authFile], nodeArgs: [`--max-old-space-size=${HEAP_MB}`],
  });
  live.server = server;
  await new Promise((r) => setTimeout(r, 2_000)); // let start-up settle
  let stopIdle = false;
  const idle = probe(server.address, () => stopIdle);
  await new Promise((r) => setTimeout(r, 3_000));
  stopIdle = true;
  const idleP99 = p99((await idle).latencies);
  const baseline = rssMb(server.pid);
  const linesBefore = server.log.lines;
  const attacker = fork(ATTACKER, [attack, server.address, String(durationMs)], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  live.attacker = attacker;
  const counts = new Promise<Record<string, number>>((resolve) => attacker.once("message", (m) => resolve(m as Record<string, number>)));
  let peak = baseline;
  let halfway = baseline;
  let attacking = true;
  const started = Date.now();
  const sampler = (async () => {
    while (attacking) {
      const rss = rssMb(server.pid);
      peak = Math.max(peak, rss);
      if (Date.now() - started < durationMs / 2) halfway = peak;
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const underAttack = probe(server.address, () => !attacking);
  const done = await counts;
  attacking = false;
  await sampler;
  const probed = await underAttack;
  const attackP99 = p99(probed.latencies);
  const lines = server.log.lines - linesBefore;
  const after = rssMb(server.pid);
  const exit = await server.stop();
  return {
    attack, seconds: durationMs / 1000, counts: done,
    rssMb: {
      baseline: Math.round(baseline), halfway: Math.round(halfway), peak: Math.round(peak),
      growth: Math.round(peak - baseline), secondHalfGrowth: Math.round(peak - halfway), after: Math.round(after),
    },
    probeP99Ms: { idle: Number(idleP99.toFixed(2)), underAttack: Number(attackP99.toFixed(2)) },
    probe: { answered: probed.latencies.length, failures: probed.failures },
    heapLimitMb: HEAP_MB, logLines: lines, serverErrors: server.errors.length, exit,
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { attack: { type: "string", default: "all" }, duration: { type: "string", default: "20s" }, "cap-mb": { type: "string", default: "128" }, "second-half-cap-mb": { type: "string", default: "48" }, "p99-factor": { type: "string", default: "20" } },
  });
  const attacks = values.attack === "all" ? [...ATTACKS] : [values.attack as Attack];
  if (!attacks.every((a) => (ATTACKS as readonly string[]).includes(a))) throw new Error(`--attack: one of ${ATTACKS.join(", ")} or all`);
  const durationMs = parseDuration(values.duration) ?? Number.NaN;
  const capMb = Number(values["cap-mb"]);
  const factor = Number(values["p99-factor"]);
  const halfCapMb = Number(values["second-half-cap-mb"]);
  const dir = mkdtempSync(join(tmpdir(), "keypool-floods-"));
  const authFile = join(dir, "auth.json");
  writeFileSync(authFile, JSON.stringify({ tokens: [{ name: "probe", role: "admin", sha256: hashToken(TOKEN) }] }));
  let failed = 0;
  try {
    for (const attack of attacks) {
      const result = await runAttack(attack, durationMs, authFile);
      const { growth, secondHalfGrowth } = result.rssMb as { growth: number; secondHalfGrowth: number };
      const { idle, underAttack } = result.probeP99Ms as { idle: number; underAttack: number };
      // An idle p99 of a fraction of a millisecond is noise: compare against at least 5 ms.
      const probeFailed = Object.keys((result.probe as { failures: object }).failures).length > 0;
      const verdict = !probeFailed && growth < capMb && secondHalfGrowth < halfCapMb && underAttack <= factor * Math.max(idle, 5) && result.exit === 0 ? "PASS" : "FAIL";
      if (verdict === "FAIL") failed++;
      console.log(JSON.stringify({ ...result, capMb, secondHalfCapMb: halfCapMb, p99Factor: factor, verdict }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return failed === 0 ? 0 : 1;
}

const killAll = (): void => {
  live.attacker?.kill("SIGKILL");
  live.server?.kill();
};
process.on("SIGINT", () => (killAll(), process.exit(130)));
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    killAll();
    process.exit(1);
  },
);
