import type { BenchChild } from "./child.js";
import { startChild } from "./child.js";
import type { WorkloadSpec } from "./keypool-workloads.js";
import type { RunReport } from "./recorder.js";
import { wallMs } from "./recorder.js";
import { cpuTimes, foreignShare, waitForQuiet } from "./machine-load.js";
import { median, round, summarize } from "./stats.js";

/** How long and how hard to drive one workload. */
export interface LoadPlan {
  /** Load-generator processes. */
  readonly clients: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Rounds per workload; figures are medians over rounds. */
  readonly rounds: number;
  /** Before each window, wait up to this long for the machine to be quiet (0: never wait). */
  readonly quietWaitMs?: number;
}

/** One workload's result: medians over rounds, latencies pooled over rounds. */
export interface LoadResult {
  readonly workload: string;
  readonly opsPerSec: number;
  readonly itemsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Server CPU time per op (user + system), when the server reported it. */
  readonly serverCpuUsPerOp?: number | undefined;
  /** Load-client CPU time per op, all clients. */
  readonly clientCpuUsPerOp: number;
  /** Share of the machine's CPU time used by processes not of this benchmark (0..1): noise. */
  readonly foreignCpu: number;
  readonly errors: Record<string, number>;
  readonly rounds: number[];
}

/** Default workload shapes; `name` is filled in per workload. */
export const SHAPE = { concurrency: 32, streams: 2, window: 8, batch: 100, keys: 1000 } as const;

/** Starts `n` load-client processes. */
export function startClients(n: number): BenchChild[] {
  return Array.from({ length: n }, () => startChild("load-client.ts"));
}

/** Stops every child in `children`. */
export async function stopAll(children: readonly BenchChild[]): Promise<void> {
  await Promise.all(children.map((c) => c.stop()));
}

/** Asks every client to prepare `spec` against `address`. */
export async function prepare(clients: readonly BenchChild[], address: string, spec: WorkloadSpec): Promise<void> {
  for (const c of clients) c.send({ type: "prepare", address, spec });
  await Promise.all(clients.map((c) => c.next("prepared", 180_000)));
}

/** Runs one window on every client at once; returns their reports. */
export async function runWindow(clients: readonly BenchChild[], plan: LoadPlan): Promise<RunReport[]> {
  const startAt = wallMs() + 300;
  for (const c of clients) c.send({ type: "run", startAt, warmupMs: plan.warmupMs, durationMs: plan.durationMs });
  const timeout = plan.warmupMs + plan.durationMs + 30_000;
  return Promise.all(clients.map(async (c) => (await c.next("done", timeout)).report as RunReport));
}

async function serverCpuMs(server: BenchChild | undefined): Promise<number | undefined> {
  if (!server) return undefined;
  server.send({ type: "usage" });
  const { cpu } = (await server.next("usage", 10_000)) as unknown as { cpu: NodeJS.CpuUsage };
  return (cpu.user + cpu.system) / 1000;
}

/** Merges client reports of one window into totals. */
export function merge(reports: readonly RunReport[]): { ops: number; items: number; latencies: number[]; errors: Record<string, number> } {
  const errors: Record<string, number> = {};
  for (const r of reports) for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
  return {
    ops: reports.reduce((s, r) => s + r.ops, 0),
    items: reports.reduce((s, r) => s + r.items, 0),
    latencies: reports.flatMap((r) => r.latencies),
    errors,
  };
}

/** What the rounds of one workload gathered. */
interface Samples {
  readonly rates: number[];
  readonly items: number[];
  readonly latencies: number[];
  readonly cpu: number[];
  readonly clientCpu: number[];
  readonly foreign: number[];
  readonly errors: Record<string, number>;
}

const emptySamples = (): Samples => ({ rates: [], items: [], latencies: [], cpu: [], clientCpu: [], foreign: [], errors: {} });

/** Runs one window of the prepared workload and adds what it measured to `a`. */
async function measureWindow(clients: readonly BenchChild[], plan: LoadPlan, a: Samples, server?: BenchChild): Promise<void> {
  if (plan.quietWaitMs) await waitForQuiet(plan.quietWaitMs);
  const cpuBefore = await serverCpuMs(server);
  const machineBefore = cpuTimes();
  const reports = await runWindow(clients, plan);
  const machineAfter = cpuTimes();
  const cpuAfter = await serverCpuMs(server);
  const total = merge(reports);
  const clientMs = reports.reduce((sum, rep) => sum + rep.cpuMs, 0);
  const serverMs = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
  // CPU over warm-up + window, per op counted in the window: scaled to the window's share.
  const perOp = (ms: number): number => (ms * 1000 * plan.durationMs) / (plan.durationMs + plan.warmupMs) / total.ops;
  a.foreign.push(foreignShare(machineBefore, machineAfter, clientMs + (serverMs ?? 0)).foreign);
  if (total.ops > 0) a.clientCpu.push(perOp(clientMs));
  if (total.ops > 0 && serverMs !== undefined) a.cpu.push(perOp(serverMs));
  a.rates.push(total.ops / (plan.durationMs / 1000));
  a.items.push(total.items / (plan.durationMs / 1000));
  for (const l of total.latencies) a.latencies.push(l); // spreading 10^5 samples overflows the stack
  for (const [code, n] of Object.entries(total.errors)) a.errors[code] = (a.errors[code] ?? 0) + n;
}

function toResult(workload: string, a: Samples): LoadResult {
  const lat = summarize(a.latencies);
  return {
    workload,
    opsPerSec: Math.round(median(a.rates)),
    itemsPerSec: Math.round(median(a.items)),
    p50Ms: lat.p50Ms,
    p99Ms: lat.p99Ms,
    serverCpuUsPerOp: a.cpu.length ? round(median(a.cpu), 1) : undefined,
    clientCpuUsPerOp: round(median(a.clientCpu), 1),
    foreignCpu: round(median(a.foreign), 2),
    errors: a.errors,
    rounds: a.rates.map((x) => Math.round(x)),
  };
}

/**
 * Measures the named workloads against `address`, interleaved round by round so slow drift of
 * the machine hits every workload alike. `server` (optional) reports its CPU time.
 */
export async function measureWorkloads(
  clients: readonly BenchChild[],
  address: string,
  specs: readonly WorkloadSpec[],
  plan: LoadPlan,
  server?: BenchChild,
): Promise<LoadResult[]> {
  const acc = specs.map(emptySamples);
  for (let r = 0; r < plan.rounds; r++) {
    for (const [i, spec] of specs.entries()) {
      await prepare(clients, address, spec);
      await measureWindow(clients, plan, acc[i]!, server);
    }
  }
  return specs.map((spec, i) => toResult(spec.name, acc[i]!));
}

/** Extra node flags for bench servers: KEYPOOL_BENCH_SERVER_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=bench/results"). */
export function serverFlags(): string[] {
  return (process.env.KEYPOOL_BENCH_SERVER_FLAGS ?? "").split(" ").filter(Boolean);
}

/** Starts a bench server child for `store` with `keys` preloaded; resolves with it and its address. */
export async function startBenchServer(
  store: string,
  keys: number,
  env: Record<string, string> = {},
  nodeFlags: readonly string[] = serverFlags(),
  args: readonly string[] = [],
): Promise<{ server: BenchChild; address: string; preloadMs: number }> {
  Object.assign(process.env, env);
  const server = startChild("bench-server.ts", ["--store", store, "--keys", String(keys), ...args], nodeFlags);
  try {
    const ready = await server.next("ready", 600_000);
    return { server, address: `127.0.0.1:${ready.port as number}`, preloadMs: ready.preloadMs as number };
  } catch (err) {
    await server.stop();
    throw err;
  }
}
