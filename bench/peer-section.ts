import type { BenchChild } from "./child.js";
import { ExternalServer, freePort, onPath } from "./external-server.js";
import { measureWorkloads, SHAPE, startBenchServer, startClients, stopAll } from "./grpc-load.js";
import type { LoadResult } from "./grpc-load.js";
import { loadPlan } from "./grpc-section.js";
import type { WorkloadSpec } from "./keypool-workloads.js";
import type { BenchPlan } from "./plan.js";

/** Section 6's result. */
export interface PeerResult {
  readonly method: string;
  readonly etcdVersion?: string | undefined;
  readonly keypool?: LoadResult[] | undefined;
  readonly etcd?: LoadResult | undefined;
  readonly notMeasured?: string | undefined;
}

/** Leases (etcd) or keys (keypool) each client keeps alive: etcd grants go through raft + fsync. */
const PEER_KEYS = 100;
/** One key per message on both sides; keypool also with its usual batch. */
const KEEPALIVE_ONE: WorkloadSpec = { ...SHAPE, name: "keepalive-stream", batch: 1, keys: PEER_KEYS };
const KEEPALIVE_BATCH: WorkloadSpec = { ...SHAPE, name: "keepalive-stream", keys: PEER_KEYS };
const ETCD: WorkloadSpec = { ...SHAPE, name: "etcd-keepalive", batch: 1, keys: PEER_KEYS };

/** A single-member etcd on loopback ports, data in a temp dir (fsync on, as shipped). */
async function startEtcd(): Promise<ExternalServer> {
  const peerPort = await freePort();
  return ExternalServer.start("etcd", (port, dir) => [
    "--name", "bench", "--data-dir", dir,
    "--listen-client-urls", `http://127.0.0.1:${port}`, "--advertise-client-urls", `http://127.0.0.1:${port}`,
    "--listen-peer-urls", `http://127.0.0.1:${peerPort}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${peerPort}`,
    "--initial-cluster", `bench=http://127.0.0.1:${peerPort}`, "--log-level", "error",
  ]);
}

async function measure(plan: BenchPlan, address: string, specs: WorkloadSpec[], server?: BenchChild): Promise<LoadResult[]> {
  const clients = startClients(plan.grpcClients);
  try {
    return await measureWorkloads(clients, address, specs, { ...loadPlan(plan), rounds: plan.storeRounds }, server);
  } finally {
    await stopAll(clients);
  }
}

/**
 * Section 6: keypool's KeepAlive stream against etcd's LeaseKeepAlive stream, same load clients
 * and shape (streams x requests in flight), one key/lease per message; keypool also batched.
 */
export async function peerSection(plan: BenchPlan): Promise<PeerResult> {
  const method =
    `${plan.grpcClients} load-client processes x ${SHAPE.streams} streams x ${SHAPE.window} requests in flight; ` +
    `${PEER_KEYS} keys (keypool, memory store) or leases (etcd, TTL 300 s) per client; etcd: single member on ` +
    `loopback, default settings, driven through grpc-js with the etcd3 package's rpc.proto; ${plan.grpcWarmupMs} ms ` +
    `warm-up + ${plan.grpcDurationMs} ms window, ${plan.storeRounds} interleaved round(s), median`;
  if (!onPath("etcd")) return { method, notMeasured: "etcd is not on PATH (Debian: apt-get install etcd-server)" };
  let etcd: ExternalServer | undefined;
  const keypool = await startBenchServer("memory", plan.grpcPoolKeys);
  try {
    const keypoolResults = await measure(plan, keypool.address, [KEEPALIVE_ONE, KEEPALIVE_BATCH], keypool.server);
    etcd = await startEtcd();
    const [etcdResult] = await measure(plan, `127.0.0.1:${etcd.port}`, [ETCD]);
    return { method, etcdVersion: etcdVersion(), keypool: keypoolResults, etcd: etcdResult };
  } catch (err) {
    return { method, notMeasured: (err instanceof Error ? err.message : String(err)).split("\n")[0] };
  } finally {
    await keypool.server.stop();
    await etcd?.stop();
  }
}

function etcdVersion(): string | undefined {
  return ExternalServer.versionOf("etcd")?.replace(/^etcd Version:\s*/, "");
}
