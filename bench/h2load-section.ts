import { AcquireKeyRequestSchema, GetKeyRequestSchema, KeepAliveKeyRequestSchema, KeyService, ReleaseKeyRequestSchema } from "../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../src/grpc/typed-client.js";
import type { BenchChild } from "./child.js";
import { ECHO_PATH } from "./echo-service.js";
import { onPath } from "./external-server.js";
import { startBenchServer } from "./grpc-load.js";
import { bodyFile, grpcFrame, h2load, H2LOAD_SHAPE } from "./h2load.js";
import { waitForQuiet } from "./machine-load.js";
import type { BenchPlan, GoalRow } from "./plan.js";
import { verdict } from "./plan.js";
import { cpuMs } from "./recorder.js";
import { median, round } from "./stats.js";

/** One RPC driven by h2load: medians over rounds, and the gRPC codes the server counted. */
export interface H2Row {
  readonly rpc: string;
  readonly reqPerSec: number;
  readonly vsEcho: number;
  /** Server CPU (user + system) per RPC the server handled, warm-up included. */
  readonly serverCpuUs: number;
  /** Echo's CPU per RPC over this RPC's: the capacity ratio, robust to other load on the machine. */
  readonly cpuVsEcho: number;
  readonly meanMs: number;
  readonly codes: Record<string, number>;
  readonly rounds: number[];
}

/** Section 4a's result. */
export interface H2Result {
  readonly method: string;
  readonly rows?: H2Row[] | undefined;
  readonly notMeasured?: string | undefined;
}

const SERVICE = "/keypool.v1.KeyService/";

async function handled(server: BenchChild): Promise<Record<string, number>> {
  server.send({ type: "handled" });
  return (await server.next("handled", 10_000)).counts as Record<string, number>;
}

async function serverCpuMs(server: BenchChild): Promise<number> {
  server.send({ type: "usage" });
  return cpuMs((await server.next("usage", 10_000)).cpu as NodeJS.CpuUsage);
}

function codesOf(before: Record<string, number>, after: Record<string, number>, method: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [label, n] of Object.entries(after)) {
    const [m, code] = label.split(" ");
    if (m === method && n - (before[label] ?? 0) > 0) out[code!] = n - (before[label] ?? 0);
  }
  return out;
}

/** One h2load window on `t`, with the server's CPU per RPC and the gRPC codes it counted. */
async function measureOne(
  server: BenchChild,
  address: string,
  t: { rpc: string; path: string; body: string },
  durationS: number,
  warmupS: number,
): Promise<{ reqPerSec: number; meanMs: number; cpuUs: number | undefined; codes: Record<string, number> }> {
  const before = await handled(server);
  const cpuBefore = await serverCpuMs(server);
  const result = await h2load(address, t.path, t.body, durationS, warmupS);
  const cpu = (await serverCpuMs(server)) - cpuBefore;
  const codes = codesOf(before, await handled(server), t.rpc);
  const calls = Object.values(codes).reduce((a, b) => a + b, 0);
  return { reqPerSec: result.reqPerSec, meanMs: result.meanMs, cpuUs: calls > 0 ? (cpu * 1000) / calls : undefined, codes };
}

/** The requests: echo and the unary KeyService RPCs whose body can be fixed (one known key). */
async function targets(address: string): Promise<{ rpc: string; path: string; body: string }[]> {
  const client = createTypedClient(KeyService, address);
  const { keys } = await client.generateKeys({ count: 1 });
  client.close();
  const key = keys[0]!.key;
  return [
    { rpc: "Echo", path: ECHO_PATH, body: bodyFile("echo.bin", grpcFrame(GetKeyRequestSchema, { key })) },
    { rpc: "GetKey", path: `${SERVICE}GetKey`, body: bodyFile("get.bin", grpcFrame(GetKeyRequestSchema, { key })) },
    { rpc: "KeepAliveKey", path: `${SERVICE}KeepAliveKey`, body: bodyFile("keepalive.bin", grpcFrame(KeepAliveKeyRequestSchema, { key })) },
    { rpc: "ReleaseKey", path: `${SERVICE}ReleaseKey`, body: bodyFile("release.bin", grpcFrame(ReleaseKeyRequestSchema, { key })) },
    { rpc: "AcquireKey", path: `${SERVICE}AcquireKey`, body: bodyFile("acquire.bin", grpcFrame(AcquireKeyRequestSchema, {})) },
  ];
}

/**
 * Section 4a: server capacity per unary RPC against echo, driven by h2load (one C client core
 * saturates the Node server, which grpc-js clients cannot do on two cores). Interleaved rounds.
 */
export async function h2loadSection(plan: BenchPlan): Promise<H2Result> {
  const durationS = Math.max(1, Math.round(plan.grpcDurationMs / 1000));
  const warmupS = Math.max(1, Math.round(plan.grpcWarmupMs / 1000));
  const method =
    `h2load (nghttp2) -c ${H2LOAD_SHAPE.connections} -m ${H2LOAD_SHAPE.streams} -t 1, ${warmupS} s warm-up + ${durationS} s, ` +
    `fixed gRPC bodies (one known key; ReleaseKey without lease id; AcquireKey empty), against bench/bench-server.ts ` +
    `(memory store, ${(plan.grpcPoolKeys * 2).toLocaleString("en-US")} keys) in its own process; ${plan.grpcRounds} ` +
    `interleaved round(s), median; gRPC codes from the server's grpc_server_handled_total`;
  if (!onPath("h2load")) return { method, notMeasured: "h2load is not on PATH (Debian: apt-get install nghttp2-client)" };
  const { server, address } = await startBenchServer("memory", plan.grpcPoolKeys * 2);
  try {
    const list = await targets(address);
    const acc = list.map(() => ({ rates: [] as number[], mean: [] as number[], cpu: [] as number[], codes: {} as Record<string, number> }));
    for (let r = 0; r < plan.grpcRounds; r++) {
      for (const [i, t] of list.entries()) {
        if (plan.quietWaitMs) await waitForQuiet(plan.quietWaitMs);
        const one = await measureOne(server, address, t, durationS, warmupS);
        acc[i]!.rates.push(one.reqPerSec);
        acc[i]!.mean.push(one.meanMs);
        if (one.cpuUs !== undefined) acc[i]!.cpu.push(one.cpuUs);
        for (const [code, n] of Object.entries(one.codes)) acc[i]!.codes[code] = (acc[i]!.codes[code] ?? 0) + n;
      }
    }
    const echo = median(acc[0]!.rates);
    const echoCpu = median(acc[0]!.cpu);
    const rows = list.map((t, i) => ({
      rpc: t.rpc,
      reqPerSec: Math.round(median(acc[i]!.rates)),
      vsEcho: round(median(acc[i]!.rates) / echo, 2),
      serverCpuUs: round(median(acc[i]!.cpu), 1),
      cpuVsEcho: round(echoCpu / median(acc[i]!.cpu), 2),
      meanMs: round(median(acc[i]!.mean), 2),
      codes: acc[i]!.codes,
      rounds: acc[i]!.rates.map(Math.round),
    }));
    return { method, rows };
  } finally {
    await server.stop();
  }
}

/** The goals section 4a checks: every unary KeyService RPC at >= 0.9 x echo. */
export function h2loadGoals(r: H2Result): GoalRow[] {
  if (!r.rows) return [{ section: "4 gRPC", what: "unary RPCs vs echo (h2load)", goal: ">= 0.9", measured: "-", status: "NOT MEASURED", note: r.notMeasured }];
  const echo = r.rows[0]!;
  return r.rows.slice(1).map((row) => ({
    section: "4 gRPC",
    what: `${row.rpc} capacity vs echo (h2load; server CPU per RPC)`,
    goal: ">= 0.9",
    measured: `${row.cpuVsEcho} (${row.serverCpuUs} vs ${echo.serverCpuUs} us CPU/RPC; RPC/s ratio ${row.vsEcho}: ${row.reqPerSec} vs ${echo.reqPerSec})`,
    status: verdict(row.cpuVsEcho >= 0.9),
    note: Object.keys(row.codes).some((c) => c !== "OK") ? `codes: ${JSON.stringify(row.codes)}` : undefined,
  }));
}
