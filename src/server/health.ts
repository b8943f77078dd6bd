import type * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { KeyStore } from "../store/key-store.js";

const SERVICES = ["", "keypool.v1.KeyService"];

/**
 * The standard `grpc.health.v1.Health` service: SERVING while the store can serve, NOT_SERVING
 * while it cannot (e.g. Redis unreachable) and from the start of shutdown, so load balancers and
 * Kubernetes probes drain this server first.
 */
export class HealthReporter {
  private readonly impl = new HealthImplementation();
  private draining = false;
  private readonly unsubscribe: () => void;

  constructor(private readonly store: KeyStore) {
    this.unsubscribe = store.onServingChange(() => this.update());
    this.update();
  }

  addToServer(server: grpc.Server): void {
    this.impl.addToServer(server);
  }

  /** Reports NOT_SERVING from now on. */
  drain(): void {
    this.draining = true;
    this.unsubscribe();
    this.update();
  }

  private update(): void {
    const status = !this.draining && this.store.isServing() ? "SERVING" : "NOT_SERVING";
    for (const service of SERVICES) this.impl.setStatus(service, status);
  }
}
