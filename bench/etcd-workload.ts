import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { pipelinedStream } from "./drivers.js";
import type { Workload, WorkloadSpec } from "./keypool-workloads.js";
import type { Recorder } from "./recorder.js";

/** The lease TTL granted, in seconds: as keypool's keepalive TTL (5 min). */
const LEASE_TTL_S = 300;

type LeaseClient = grpc.Client & {
  leaseGrant(request: { TTL: number }, callback: (err: grpc.ServiceError | null, response?: { ID: string }) => void): void;
  leaseKeepAlive(): grpc.ClientDuplexStream<{ ID: string }, unknown>;
};

/** etcd's Lease service, from the .proto files the `etcd3` package ships, on grpc-js. */
function leaseClient(address: string): LeaseClient {
  const protoDir = fileURLToPath(new URL("../node_modules/etcd3/proto/", import.meta.url));
  const definition = loadSync("rpc.proto", { includeDirs: [protoDir], longs: String, defaults: false });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { etcdserverpb: { Lease: new (a: string, c: grpc.ChannelCredentials) => LeaseClient } };
  return new pkg.etcdserverpb.Lease(address, grpc.credentials.createInsecure());
}

/**
 * The peer's keepalive workload: `spec.keys` leases granted up front, then LeaseKeepAlive
 * streams with `spec.window` requests in flight. etcd's request names ONE lease, so each
 * request moves one item (keypool's KeepAlive names up to 1000 keys per request).
 */
export async function etcdWorkload(address: string, spec: WorkloadSpec): Promise<Workload> {
  const client = leaseClient(address);
  const leases: string[] = [];
  for (let i = 0; i < spec.keys; i++) {
    leases.push(
      await new Promise<string>((resolve, reject) =>
        client.leaseGrant({ TTL: LEASE_TTL_S }, (err, response) => (err ? reject(err) : resolve(response!.ID))),
      ),
    );
  }
  let cursor = 0;
  const run = async (rec: Recorder): Promise<void> => {
    await Promise.all(
      Array.from({ length: spec.streams }, () =>
        pipelinedStream(client.leaseKeepAlive(), rec, spec.window, () => ({
          message: { ID: leases[(cursor = (cursor + 1) % leases.length)]! },
          items: 1,
        })),
      ),
    );
  };
  return { run, close: () => client.close() };
}
