import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import type { HealthCheckRequest } from "../../gen/grpc/health/v1/health_pb.js";
import { MalformedMessage, serviceDefinition } from "../grpc/service-definition.js";
import type { KeyStore } from "../store/key-store.js";

/** What health watches: whether the pools (or one store) can serve. */
export type ServingSource = Pick<KeyStore, "isServing" | "onServingChange" | "describe">;
import { HealthWatch } from "./health-watch.js";

/** The services health answers for: the server as a whole ("") and the KeyService. */
export const HEALTH_SERVICES: readonly string[] = ["", "keypool.v1.KeyService"];

/** What the health service is told at construction. */
export interface HealthOptions {
  /** Most Watch streams open at once (`--max-health-watches`); beyond: RESOURCE_EXHAUSTED. */
  readonly maxWatches: number;
  /** Store transitions (unreachable, serving again) are logged here, once per transition. */
  readonly log: Logger;
}

/** Longest service name health accepts; gRPC service names are far shorter. */
export const MAX_SERVICE_NAME_LENGTH = 512;

const shown = (name: string): string => JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);

/** The refusal of a request health will not answer, or undefined for a fine one. */
function refusal(request: HealthCheckRequest | MalformedMessage): Partial<grpc.StatusObject> | undefined {
  if (request instanceof MalformedMessage) return { code: grpc.status.INVALID_ARGUMENT, details: `invalid ${request.typeName}: ${request.reason}` };
  if (request.service.length <= MAX_SERVICE_NAME_LENGTH) return undefined;
  return { code: grpc.status.INVALID_ARGUMENT, details: `service names are at most ${MAX_SERVICE_NAME_LENGTH} characters (got ${request.service.length})` };
}

/**
 * The standard `grpc.health.v1.Health` service (Check, Watch, List), served by keypool itself:
 * SERVING while the store can serve, NOT_SERVING while it cannot (e.g. Redis unreachable) and
 * from the start of shutdown, so load balancers and Kubernetes probes drain this server first.
 * Memory is bounded under attack: service names longer than MAX_SERVICE_NAME_LENGTH are
 * INVALID_ARGUMENT at once, a Watch stream keeps no name, at most `maxWatches` are open, a watcher that never reads holds at most one
 * pending status, and shutdown ends every Watch stream with UNAVAILABLE. O(1) per call; a status
 * change is O(open watches).
 */
export class HealthReporter {
  private draining = false;
  private status: Status;
  private readonly watches = new Set<HealthWatch>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: ServingSource,
    private readonly options: HealthOptions,
  ) {
    this.status = this.current();
    this.unsubscribe = store.onServingChange(() => this.update());
  }

  /** Whether this server reports SERVING now (store serving, not shutting down). O(1). */
  get serving(): boolean {
    return this.status === Status.SERVING;
  }

  /** Watch streams open now. O(1). */
  get openWatches(): number {
    return this.watches.size;
  }

  /** Registers the service on `server`. */
  addToServer(server: grpc.Server): void {
    server.addService(serviceDefinition(Health), {
      check: (call: grpc.ServerUnaryCall<HealthCheckRequest | MalformedMessage, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const request = call.request;
        const refused = refusal(request);
        if (refused) return callback(refused as grpc.ServiceError);
        if (!HEALTH_SERVICES.includes((request as HealthCheckRequest).service)) {
          return callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${shown((request as HealthCheckRequest).service)}; ask for "" or "keypool.v1.KeyService"` } as grpc.ServiceError);
        }
        callback(null, { status: this.status });
      },
      watch: (call: grpc.ServerWritableStream<HealthCheckRequest | MalformedMessage, unknown>) => this.watch(call),
      list: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
        callback(null, { statuses: Object.fromEntries(HEALTH_SERVICES.map((service) => [service, { status: this.status }])) });
      },
    });
  }

  /** Reports NOT_SERVING from now on and ends every Watch stream (after that status). */
  drain(): void {
    this.draining = true;
    this.unsubscribe();
    this.update();
    for (const watch of this.watches) watch.end({ code: grpc.status.UNAVAILABLE, details: "the server is shutting down" });
    this.watches.clear();
  }

  private watch(call: grpc.ServerWritableStream<HealthCheckRequest | MalformedMessage, unknown>): void {
    const request = call.request;
    // The request is not needed past this point: do not keep it for the stream's life.
    (call as { request: unknown }).request = undefined;
    const refused = refusal(request);
    if (refused) return void call.emit("error", refused);
    if (this.draining) return void call.emit("error", { code: grpc.status.UNAVAILABLE, details: "the server is shutting down" });
    if (this.watches.size >= this.options.maxWatches) {
      return void call.emit("error", {
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: `${this.watches.size} health Watch streams are open (limit --max-health-watches); use Check, or one Watch per client`,
      });
    }
    const known = HEALTH_SERVICES.includes((request as HealthCheckRequest).service);
    const watch = new HealthWatch(call, known, () => this.watches.delete(watch));
    this.watches.add(watch);
    // An unknown service stays unknown (the set is fixed): SERVICE_UNKNOWN once, then silence.
    watch.send(known ? this.status : Status.SERVICE_UNKNOWN);
  }

  private current(): Status {
    return !this.draining && this.store.isServing() ? Status.SERVING : Status.NOT_SERVING;
  }

  private update(): void {
    const status = this.current();
    if (status === this.status) return;
    this.status = status;
    if (!this.draining) {
      const about = this.store.describe();
      if (status === Status.SERVING) this.options.log.info({ store: about.store }, "the store serves again: health SERVING");
      else this.options.log.warn({ store: about.store }, "the store cannot serve (unreachable or failed): health NOT_SERVING, calls answer UNAVAILABLE");
    }
    for (const watch of this.watches) if (watch.known) watch.send(status);
  }
}
