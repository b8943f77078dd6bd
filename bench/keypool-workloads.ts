import { create } from "@bufbuild/protobuf";
import { KeyService, LeaseRefSchema } from "../gen/keypool/v1/keypool_pb.js";
import type { GetKeyRequest, LeaseRef } from "../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../src/grpc/typed-client.js";
import type { TypedClient } from "../src/grpc/typed-client.js";
import { pipelinedStream, unaryLoops } from "./drivers.js";
import { callEcho } from "./echo-service.js";
import type { Recorder } from "./recorder.js";

/** What a load client is asked to run. */
export interface WorkloadSpec {
  readonly name: string;
  /** Closed loops (unary) per client process. */
  readonly concurrency: number;
  /** Streams per client process (stream workloads). */
  readonly streams: number;
  /** Requests in flight per stream. */
  readonly window: number;
  /** Keys per stream request. */
  readonly batch: number;
  /** Keys (or leases) the client makes for itself to keep alive or look up. */
  readonly keys: number;
  /**
   * Keepalive workloads: keep alive keys the client acquired (blocked, spread over the pool, as a
   * worker's are), the very keys a renewal workload renews, rather than the fresh keys it made
   * (adjacent slots, warm in cache). Renewal workloads always work on acquired keys.
   */
  readonly held?: boolean;
  /**
   * acquire-release: each pair in a pool drawn at random from `pool-0`... `pool-<pools - 1>`
   * (a server started with `--pools`); absent, the default pool.
   */
  readonly pools?: number;
}

/** A prepared workload: `run` drives load for the recorder's window. */
export interface Workload {
  run(rec: Recorder): Promise<void>;
  close(): void;
}

/** Keypool workloads by name; the etcd peer lives in etcd-workload.ts. */
export const KEYPOOL_WORKLOADS = [
  "echo", "acquire-release", "keepalive-unary", "keepalive-stream", "renew-unary", "renew-stream", "get", "mixed",
] as const;

/** Leases of `count` keys acquired from the pool, for the renewal workloads to renew. */
async function ownLeases(client: TypedClient<typeof KeyService>, count: number): Promise<{ key: string; leaseId: string }[]> {
  const leases: { key: string; leaseId: string }[] = [];
  for (let i = 0; i < count; i++) {
    const { key } = await client.acquireKey({});
    leases.push({ key: key!.key, leaseId: key!.leaseId });
  }
  return leases;
}

async function ownKeys(client: TypedClient<typeof KeyService>, count: number): Promise<string[]> {
  const keys: string[] = [];
  for (let left = count; left > 0; left -= 1000) {
    const { keys: made } = await client.generateKeys({ count: Math.min(1000, left) });
    keys.push(...made.map((k) => k.key));
  }
  return keys;
}

/** Connects to a keypool server at `address` and prepares `spec` (generating its keys). */
export async function keypoolWorkload(address: string, spec: WorkloadSpec): Promise<Workload> {
  const client = createTypedClient(KeyService, address);
  const holds = spec.name.startsWith("renew-") || spec.held === true;
  // Renewals need leases: generate the keys, then acquire as many (random keys of the whole
  // pool; the pool's other keys stay free). A held keepalive keeps those same keys alive.
  const made = spec.keys > 0 ? await ownKeys(client, spec.keys) : ["kp_AAAAAAAAAAAAAAAAAAAAAAAA"];
  const leases = holds ? await ownLeases(client, Math.min(spec.keys, made.length)) : [];
  const keys = holds ? leases.map((l) => l.key) : made;
  // The stream sends its leases as ready LeaseRef messages, as it sends its keys as ready strings:
  // the client's serializer would otherwise make a message per lease reflectively, every time.
  const leaseRefs = leases.map((l) => create(LeaseRefSchema, l));
  let leaseCursor = 0;
  const nextLease = (): { key: string; leaseId: string } => leases[(leaseCursor = (leaseCursor + 1) % leases.length)]!;
  const nextLeaseRef = (): LeaseRef => leaseRefs[(leaseCursor = (leaseCursor + 1) % leases.length)]!;
  let cursor = 0;
  let turn = 0;
  const nextKey = (): string => keys[(cursor = (cursor + 1) % keys.length)]!;
  const acquireRelease = async (): Promise<number> => {
    const pool = spec.pools === undefined ? "" : `pool-${Math.floor(Math.random() * spec.pools)}`;
    const { key } = await client.acquireKey({ pool });
    await client.releaseKey({ pool, key: key!.key, leaseId: key!.leaseId });
    return 1;
  };
  const unary: Record<string, () => Promise<number>> = {
    echo: async () => (await callEcho(client.grpc, { key: nextKey() } as GetKeyRequest), 1),
    "acquire-release": acquireRelease,
    "keepalive-unary": async () => (await client.keepAliveKey({ key: nextKey() }), 1),
    "renew-unary": async () => (await client.renewLease(nextLease()), 1),
    get: async () => (await client.getKey({ key: nextKey() }), 1),
    // The storm's client: lookups and acquire/release pairs, alternating.
    mixed: async () => (turn++ % 2 === 0 ? acquireRelease() : client.getKey({ key: nextKey() }).then(() => 1)),
  };
  const run = async (rec: Recorder): Promise<void> => {
    if (spec.name === "keepalive-stream" || spec.name === "renew-stream") {
      const message = spec.name === "renew-stream"
        ? () => ({ leases: Array.from({ length: spec.batch }, nextLeaseRef) })
        : () => ({ keys: Array.from({ length: spec.batch }, nextKey) });
      await Promise.all(
        Array.from({ length: spec.streams }, () =>
          pipelinedStream(client.keepAlive(), rec, spec.window, () => ({ message: message(), items: spec.batch })),
        ),
      );
      return;
    }
    const op = unary[spec.name];
    if (!op) throw new Error(`unknown workload "${spec.name}"`);
    await unaryLoops(rec, spec.concurrency, op);
  };
  return { run, close: () => client.close() };
}
