import * as grpc from "@grpc/grpc-js";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import type { HealthCheckResponse } from "../../gen/grpc/health/v1/health_pb.js";
import { serviceDefinition } from "../../src/grpc/service-definition.js";
import { eventually } from "./eventually.js";

/** One open Watch call: the statuses seen so far (by name) and how it ended. */
export interface WatchCall {
  readonly seen: string[];
  readonly call: grpc.ClientReadableStream<HealthCheckResponse>;
  /** Resolves with the call's final status. */
  readonly ended: Promise<grpc.StatusObject>;
  /** Resolves once `n` statuses were seen. */
  next(n: number): Promise<void>;
}

/** A grpc.health.v1.Health client built from the generated descriptors. */
export interface HealthClient {
  /** Check: the status's name (`SERVING`), or rejects with the call's error. */
  check(service: string, deadlineMs?: number): Promise<string>;
  watch(service: string): WatchCall;
  readonly grpc: grpc.Client;
  close(): void;
}

const HealthClientConstructor = grpc.makeGenericClientConstructor(serviceDefinition(Health) as grpc.ServiceDefinition, "Health");

/** Connects a health client to `address` (plaintext unless `credentials`). */
export function healthClient(address: string, credentials = grpc.credentials.createInsecure()): HealthClient {
  const client = new HealthClientConstructor(address, credentials) as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  return {
    grpc: client,
    close: () => client.close(),
    check: (service, deadlineMs) =>
      new Promise((resolve, reject) => {
        const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
        client.check!({ service }, options, (err: grpc.ServiceError | null, res: HealthCheckResponse) => (err ? reject(err) : resolve(Status[res.status]!)));
      }),
    watch: (service) => {
      const call = client.watch!({ service }) as grpc.ClientReadableStream<HealthCheckResponse>;
      const seen: string[] = [];
      call.on("data", (r: HealthCheckResponse) => seen.push(Status[r.status]!));
      call.on("error", () => {});
      const ended = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
      const next = (n: number): Promise<void> => eventually(() => seen.length >= n, `${n} health statuses on a Watch`);
      return { seen, call, ended, next };
    },
  };
}
