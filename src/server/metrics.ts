import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { KeyStore } from "../store/key-store.js";
import type { StreamRegistry } from "./stream-registry.js";

/** Pool events counted by the handlers (per server process). */
export type PoolEvent = "generated" | "acquired" | "released" | "deleted" | "acquire_misses";

/**
 * The Prometheus metrics of one server: the gRPC ecosystem's standard server metrics
 * (`grpc_server_started_total`, `grpc_server_handled_total`, `grpc_server_handling_seconds`),
 * pool gauges read from the store at scrape time, and pool event counters. Updating costs O(1)
 * per RPC; label children are cached per method.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly started: Counter<"grpc_type" | "grpc_service" | "grpc_method">;
  readonly handled: Counter<"grpc_type" | "grpc_service" | "grpc_method" | "grpc_code">;
  readonly handling: Histogram<"grpc_type" | "grpc_service" | "grpc_method">;
  private readonly events: Counter<"event">;

  constructor(store: KeyStore, streams: StreamRegistry) {
    const registers = [this.registry];
    const methodLabels = ["grpc_type", "grpc_service", "grpc_method"] as const;
    this.started = new Counter({ name: "grpc_server_started_total", help: "RPCs started on the server.", labelNames: methodLabels, registers });
    this.handled = new Counter({
      name: "grpc_server_handled_total", help: "RPCs completed on the server, by status code.",
      labelNames: [...methodLabels, "grpc_code"], registers,
    });
    this.handling = new Histogram({
      name: "grpc_server_handling_seconds", help: "Time from the start of an RPC to its status.",
      labelNames: methodLabels, registers,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300],
    });
    this.events = new Counter({ name: "keypool_key_events_total", help: "Key events served by this server.", labelNames: ["event"], registers });
    new Gauge({
      name: "keypool_keys", help: "Live keys in the pool, by state.", labelNames: ["state"], registers,
      async collect() {
        const stats = await store.stats().catch(() => undefined);
        if (!stats) return;
        this.set({ state: "free" }, stats.free);
        this.set({ state: "blocked" }, stats.blocked);
      },
    });
    new Gauge({ name: "keypool_open_streams", help: "Open KeepAlive streams.", registers, collect() { this.set(streams.size); } });
    const storeCounters = new Gauge({
      name: "keypool_store_events", help: "Events the store counted since it opened (auto_released, expired).",
      labelNames: ["event"], registers,
      collect() {
        const counters = store.counters();
        storeCounters.set({ event: "auto_released" }, counters.autoReleased);
        storeCounters.set({ event: "expired" }, counters.expired);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** Counts `n` pool events. O(1). */
  count(event: PoolEvent, n = 1): void {
    this.events.inc({ event }, n);
  }
}

/** Serves `GET /metrics` on `host:port`; resolves with the bound port. */
export async function serveMetrics(metrics: Metrics, host: string, port: number): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end("not found: try /metrics\n");
      return;
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(body),
      () => res.writeHead(500).end("metrics unavailable\n"),
    );
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
  return { port: (server.address() as AddressInfo).port, server };
}
