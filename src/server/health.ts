import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import type { HealthCheckRequest } from "../../gen/grpc/health/v1/health_pb.js";
import { MalformedMessage, serviceDefinition } from "../grpc/service-definition.js";
import type { KeyStore } from "../store/key-store.js";
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

const shown = (name: string): string => JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);

function invalid(request: MalformedMessage): Partial<grpc.StatusObject> {
  return { code: grpc.status.INVALID_ARGUMENT, details: `invalid ${request.typeName}: ${request.reason}` };
}

/**
 * The standard `grpc.health.v1.Health` service (Check, Watch, List), served by keypool itself:
 * SERVING while the store can serve, NOT_SERVING while it cannot (e.g. Redis unreachable) and
 * from the start of shutdown, so load balancers and Kubernetes probes drain this server first.
 * Memory is bounded under attack: a Watch stream costs O(1) whatever its service name (the name
 * is not kept), at most `maxWatches` are open, a watcher that never reads holds at most one
 * pending status, and shutdown ends every Watch stream with UNAVAILABLE. O(1) per call; a status
 * change is O(open watches).
 */
export class HealthReporter {
  private draining = false;
  private status: Status;
  private readonly watches = new Set<HealthWatch>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: KeyStore,
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
        if (request instanceof MalformedMessage) return callback(invalid(request) as grpc.ServiceError);
        if (!HEALTH_SERVICES.includes(request.service)) {
          return callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${shown(request.service)}; ask for "" or "keypool.v1.KeyService"` } as grpc.ServiceError);
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
    // The request (its service name may be 64 KiB) is not needed past this point.
    (call as { request: unknown }).request = undefined;
    if (request instanceof MalformedMessage) return void call.emit("error", invalid(request));
    if (this.draining) return void call.emit("error", { code: grpc.status.UNAVAILABLE, details: "the server is shutting down" });
    if (this.watches.size >= this.options.maxWatches) {
      return void call.emit("error", {
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: `${this.watches.size} health Watch streams are open (limit --max-health-watches); use Check, or one Watch per client`,
      });
    }
    const known = HEALTH_SERVICES.includes(request.service);
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
