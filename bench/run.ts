/**
 * `npm run bench [-- --quick] [-- --only=core,memory,storm,h2load,grpc,stores,peer,cluster,pools] [-- --no-docs]`:
 * runs the benchmark sections, prints a table per section, writes bench/results/latest.json
 * (quick runs: bench/results/quick.json) and, after a full run, the results block of
 * docs/performance.md and docs/performance-chart.svg. A benchmark, never a test: it asserts
 * nothing; goals are reported PASS or MISS.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeChart } from "./chart.js";
import { updateDocs } from "./docs-writer.js";
import { grpcGoals, grpcSection } from "./grpc-section.js";
import { h2loadGoals, h2loadSection } from "./h2load-section.js";
import { machineInfo } from "./machine.js";
import { memoryGoals, memorySection } from "./memory.js";
import { memoryLatencyNs } from "./memory-latency.js";
import { peerSection } from "./peer-section.js";
import { clusterSection } from "./cluster-section.js";
import { FULL, QUICK } from "./plan.js";
import type { BenchPlan, GoalRow } from "./plan.js";
import { poolCoreGoals, poolCoreSection } from "./pool-core.js";
import { poolsGoals, poolsSection } from "./pools/pools-section.js";
import { machineLine, tables, textTable } from "./report.js";
import type { BenchResults, Failed } from "./results.js";
import { storesSection } from "./stores-section.js";
import { stormGoals, stormSection } from "./storm.js";

const SECTIONS = ["core", "memory", "storm", "h2load", "grpc", "stores", "peer", "cluster", "pools"] as const;
const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

function loadAverage(): number {
  return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
}

/** Runs one section, turning a failure into a recorded reason and a NOT MEASURED goal row. */
async function section<T extends object>(name: string, goals: GoalRow[], run: () => Promise<T>, check?: (r: T) => GoalRow[]): Promise<T | Failed> {
  const started = Date.now();
  process.stderr.write(`bench: ${name}...\n`);
  try {
    const result = await run();
    if (check) goals.push(...check(result));
    process.stderr.write(`bench: ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return result;
  } catch (err) {
    const error = (err instanceof Error ? err.message : String(err)).split("\n")[0]!;
    goals.push({ section: name, what: "whole section", goal: "-", measured: "-", status: "NOT MEASURED", note: error });
    process.stderr.write(`bench: ${name} failed: ${error}\n`);
    return { error };
  }
}

async function runSections(plan: BenchPlan, only: Set<string>, goals: GoalRow[]): Promise<BenchResults["sections"]> {
  const want = (s: string): boolean => only.has(s);
  return {
    poolCore: want("core") ? await section("1 pool core", goals, () => poolCoreSection(plan), poolCoreGoals) : undefined,
    memory: want("memory") ? await section("2 memory", goals, () => memorySection(plan), memoryGoals) : undefined,
    storm: want("storm") ? await section("3 storm", goals, () => stormSection(plan), stormGoals) : undefined,
    h2load: want("h2load") ? await section("4a gRPC, h2load", goals, () => h2loadSection(plan), h2loadGoals) : undefined,
    grpc: want("grpc") ? await section("4b gRPC, grpc-js clients", goals, () => grpcSection(plan), grpcGoals) : undefined,
    stores: want("stores") && plan.stores ? await section("5 stores", goals, () => storesSection(plan)) : undefined,
    peer: want("peer") && plan.peer ? await section("6 peer", goals, () => peerSection(plan)) : undefined,
    cluster: want("cluster") && plan.cluster ? await section("7 redis cluster", goals, () => clusterSection(plan)) : undefined,
    pools: want("pools") ? await section("8 pools", goals, () => poolsSection(plan), poolsGoals) : undefined,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: "boolean", default: false }, only: { type: "string" }, "no-docs": { type: "boolean", default: false } },
  });
  const plan = values.quick ? QUICK : FULL;
  const only = new Set(values.only ? values.only.split(",") : SECTIONS);
  for (const s of only) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`unknown section "${s}": use ${SECTIONS.join(",")}`);
  const started = Date.now();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const machine = machineInfo(command);
  const loadBefore = loadAverage();
  const latency = memoryLatencyNs();
  const goals: GoalRow[] = [];
  const sections = await runSections(plan, only, goals);
  const results: BenchResults = {
    schema: 1, mode: plan.mode, machine, load: { before: loadBefore, after: loadAverage() },
    durationS: Math.round((Date.now() - started) / 1000), memoryLatencyNs: latency, sections, goals,
  };
  process.stdout.write(`${machineLine(results)}\n\n${tables(results).map(textTable).join("\n\n")}\n`);
  mkdirSync(here("results"), { recursive: true });
  const json = here(plan.mode === "full" ? "results/latest.json" : "results/quick.json");
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\nwrote ${json}\n`);
  if (plan.mode === "full" && !values["no-docs"] && only.size === SECTIONS.length) {
    updateDocs(here("../docs/performance.md"), results);
    if (writeChart(results, here("../docs/performance-chart.svg"))) process.stdout.write("wrote docs/performance.md and docs/performance-chart.svg\n");
  }
}

process.once("SIGINT", () => process.exit(130));
void main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
