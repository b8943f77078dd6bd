/**
 * `npm run soak:floods`: floods a real keypool server with the attacks that grew its memory
 * before (health Watch with unique 30 KB names, reflection streams that never read, refused calls
 * that each wrote a log line, KeepAlive streams that never read, thousands of idle connections,
 * HTTP/2 rapid reset) and asserts that its RSS grows by less than a fixed cap, and by less than a
 * smaller cap in the flood's second half (a leak grows all along; a bound levels off), while a
 * probe client (with a token, from 127.0.0.1, connected before the flood; the refused and
 * connection floods come from other loopback addresses) is answered every time with a p99
 * latency within a stated factor of its idle p99. Figures: docs/operations.md. One fresh server per
 * attack; bounded in time; kills every process it started. Prints one JSON line per attack;
 * exits 1 when a cap is broken.
 *
 *   npm run soak:floods -- [--attack watch|reflection|refused|keepalive-never-read|idle-connections|rapid-reset|all] [--duration 20s] [--cap-mb 128]
 *                          [--second-half-cap-mb 48] [--p99-factor 20]
 */
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { KeyService } from "../../../gen/keypool/v1/keypool_pb.js";
import { parseDuration } from "../../../src/cli/duration.js";
import { createTypedClient } from "../../../src/grpc/typed-client.js";
import type { TypedClient } from "../../../src/grpc/typed-client.js";
import { hashToken } from "../../../src/server/auth.js";
import { startSoakServer } from "../soak-server.js";
import type { SoakServer } from "../soak-server.js";
import { ATTACKS } from "./flood-attacks.js";
import type { Attack } from "./flood-attacks.js";
import { FLOOD_TOKEN } from "./transport-attacks.js";

const ATTACKER = new URL("./flood-attacks.ts", import.meta.url);
const TOKEN = FLOOD_TOKEN;
/**
 * The server's V8 old-space limit during a flood: small, so that a leak ends the server. Rapid
 * reset gets more: before every attacking address is cut off (--max-resets), the calls already
 * read from its connections are processed, ~100 MB at the peak on a loaded 2-core VM; it levels
 * off once the addresses are refused (a bounded backlog, which a 96 MB heap does not hold).
 */
const HEAP_MB: Record<Attack, number> = {
  watch: 96, reflection: 96, refused: 96, "keepalive-never-read": 96, "idle-connections": 96, "rapid-reset": 256,
};
const live: { server?: SoakServer; attacker?: ChildProcess } = {};

/** The server's resident set size in MB (Linux /proc). */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(procRead(() => readFileSync(`/proc/${pid}/status`, "utf8")) ?? "")?.[1];
  return Number(kb) / 1024;
}

/** A /proc read of a process that may have died (then undefined: the verdict reports the exit). */
function procRead<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN;
}

/** Open file descriptors of the server (its sockets: what the connection limits bound). */
function fds(pid: number): number {
  return procRead(() => readdirSync(`/proc/${pid}/fd`).length) ?? Number.NaN;
}

/** A probe client connected before the flood starts (a flood of connections may fill --max-connections). */
async function probeClient(address: string): Promise<TypedClient<typeof KeyService>> {
  const client = createTypedClient(KeyService, address);
  await new Promise<void>((resolve, reject) => client.grpc.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));
  return client;
}

/** Calls GetPoolStats (with the admin token) every 20 ms until `stop`, then closes `client`; returns the latencies in ms and the failures. */
async function probe(client: TypedClient<typeof KeyService>, stop: () => boolean): Promise<{ latencies: number[]; failures: Record<string, number> }> {
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

interface Sample {
  readonly ms: number;
  readonly rss: number;
  readonly fds: number;
}

/** Samples the server's RSS and open descriptors every 250 ms while `running()`. */
async function sampleServer(pid: number, running: () => boolean): Promise<Sample[]> {
  const started = Date.now();
  const samples: Sample[] = [];
  while (running()) {
    const rss = rssMb(pid);
    if (Number.isNaN(rss)) break; // the server died: its exit is in the verdict
    samples.push({ ms: Date.now() - started, rss, fds: fds(pid) });
    await new Promise((r) => setTimeout(r, 250));
  }
  return samples;
}

/**
 * The flood's memory figures. Its "second half" starts halfway through the flood as it ran, or
 * once the server's descriptors reached 95 % of their peak if that is later (a connection flood
 * on a loaded machine takes a while to fill --max-connections: until then growth is the bound
 * being reached, not a leak). `series` is the RSS at each tenth of the flood.
 */
function memoryFigures(samples: readonly Sample[], baseline: number): { rssMb: Record<string, unknown>; peakFds: number } {
  const peak = Math.max(baseline, ...samples.map((s) => s.rss));
  const peakFds = Math.max(...samples.map((s) => s.fds));
  const lastMs = samples.at(-1)?.ms ?? 0;
  const filled = samples.find((s) => s.fds >= 0.95 * peakFds)?.ms ?? 0;
  const secondHalfFrom = Math.max(lastMs / 2, peakFds - (samples[0]?.fds ?? 0) > 50 ? filled : 0);
  const firstHalf = Math.max(baseline, ...samples.filter((s) => s.ms < secondHalfFrom).map((s) => s.rss));
  const series = Array.from({ length: 10 }, (_, i) => Math.round(samples[Math.floor((i * samples.length) / 10)]?.rss ?? Number.NaN));
  return {
    rssMb: {
      baseline: Math.round(baseline), firstHalfPeak: Math.round(firstHalf), peak: Math.round(peak), growth: Math.round(peak - baseline),
      secondHalfGrowth: Math.round(peak - firstHalf), secondHalfFromS: Number((secondHalfFrom / 1000).toFixed(1)), series,
    },
    peakFds,
  };
}

async function runAttack(attack: Attack, durationMs: number, authFile: string): Promise<Record<string, unknown>> {
  // A small heap, as the attacks that killed the server before were run with: a leak ends it.
  const server = await startSoakServer({
    blockTtl: "60s", keepaliveTtl: "5m", maxKeys: 10_000, extraArgs: ["--auth-file", authFile], nodeArgs: [`--max-old-space-size=${HEAP_MB[attack]}`],
  });
  live.server = server;
  await new Promise((r) => setTimeout(r, 2_000)); // let start-up settle
  let stopIdle = false;
  const idle = probe(await probeClient(server.address), () => stopIdle);
  await new Promise((r) => setTimeout(r, 3_000));
  stopIdle = true;
  const idleP99 = p99((await idle).latencies);
  const baseline = rssMb(server.pid);
  const linesBefore = server.log.lines;
  const fdsBefore = fds(server.pid);
  const probing = await probeClient(server.address);
  const loadBefore = loadavg()[0]!;
  const attacker = fork(ATTACKER, [attack, server.address, String(durationMs)], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  live.attacker = attacker;
  const counts = new Promise<Record<string, number>>((resolve) => {
    attacker.once("message", (m) => resolve(m as Record<string, number>));
    attacker.once("exit", (code) => resolve({ attackerDiedWithoutReport: code ?? -1 }));
  });
  let attacking = true;
  const sampler = sampleServer(server.pid, () => attacking);
  const underAttack = probe(probing, () => !attacking);
  const done = await counts;
  const loadAfter = loadavg()[0]!;
  attacking = false;
  const memory = memoryFigures(await sampler, baseline);
  const probed = await underAttack;
  const attackP99 = p99(probed.latencies);
  const lines = server.log.lines - linesBefore;
  const after = rssMb(server.pid);
  const exit = await server.stop();
  return {
    attack, seconds: durationMs / 1000, counts: done,
    rssMb: { ...memory.rssMb, after: Math.round(after) },
    probeP99Ms: { idle: Number(idleP99.toFixed(2)), underAttack: Number(attackP99.toFixed(2)) },
    probe: { answered: probed.latencies.length, failures: probed.failures },
    serverFds: { before: fdsBefore, peak: memory.peakFds }, loadAverage1m: { before: loadBefore, after: Number(loadAfter.toFixed(2)) },
    heapLimitMb: HEAP_MB[attack], logLines: lines, serverErrors: server.errors.length, exit, ...(exit === 0 ? {} : { stderrTail: server.stderrTail() }),
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
