import type { DescService } from "@bufbuild/protobuf";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { PoolSet } from "../store/pool-set.js";
import type { StreamRegistry } from "./stream-registry.js";

/** Pool events counted by the handlers (per server process). */
export type PoolEvent = "generated" | "imported" | "acquired" | "released" | "deleted" | "acquire_misses";

/**
 * The `pool` label of events in a pool this server does not hold (an AcquireKey miss on a pool
 * nobody made): one series for all of them, so made-up pool names cannot grow the metrics.
 */
export const UNKNOWN_POOL_LABEL = "(unknown)";

/** Status code names as Go's `codes.Code.String()` writes them, which go-grpc-prometheus uses. */
const GRPC_CODE_NAMES = [
  "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied",
  "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable",
  "DataLoss", "Unauthenticated",
] as const;

/** The `grpc_code` label of a status code, as go-grpc-prometheus writes it (`NotFound`). O(1). */
export function grpcCodeName(code: number): string {
  return GRPC_CODE_NAMES[code] ?? `Code(${code})`;
}

/** The `grpc_type` label of a method, as go-grpc-prometheus writes it. */
export function grpcType(requestStream: boolean, responseStream: boolean): string {
  if (requestStream) return responseStream ? "bidi_stream" : "client_stream";
  return responseStream ? "server_stream" : "unary";
}

type MethodLabel = "grpc_type" | "grpc_service" | "grpc_method";

/**
 * The Prometheus metrics of one server: the gRPC ecosystem's standard server metrics
 * (`grpc_server_started_total`, `grpc_server_handled_total`, `grpc_server_handling_seconds`,
 * labelled as go-grpc-prometheus labels them), pool gauges read from the stores at scrape time,
 * and counters of pool and store events. Pool series carry a `pool` label whose values are the
 * pools the PoolSet holds (at most `--max-pools`) and UNKNOWN_POOL_LABEL. Updating costs O(1) per
 * RPC; a scrape costs O(pools).
 */
export class Metrics {
  readonly registry = new Registry();
  readonly started: Counter<MethodLabel>;
  readonly handled: Counter<MethodLabel | "grpc_code">;
  readonly handling: Histogram<MethodLabel>;
  /** Per-call log lines the log limiter dropped. */
  readonly logLinesDropped: Counter;
  private readonly events: Counter<"event" | "pool">;
  /** Pools known to hold keys: those the PoolSet listed at the last scrape or an event succeeded in. */
  private readonly known = new Set<string>();

  constructor(pools: PoolSet, streams: StreamRegistry) {
    const known = this.known;
    const poolNames = (): readonly string[] => {
      const names = pools.poolNames();
      for (const name of names) known.add(name);
      return names;
    };
    const registers = [this.registry];
    const labelNames = ["grpc_type", "grpc_service", "grpc_method"] as const;
    this.started = new Counter({ name: "grpc_server_started_total", help: "RPCs started on the server.", labelNames, registers });
    this.handled = new Counter({
      name: "grpc_server_handled_total", help: "RPCs completed on the server, by status code.",
      labelNames: [...labelNames, "grpc_code"], registers,
    });
    this.handling = new Histogram({
      name: "grpc_server_handling_seconds", help: "Time from the start of an RPC to its status.", labelNames, registers,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300],
    });
    this.events = new Counter({ name: "keypool_key_events_total", help: "Key events served by this server.", labelNames: ["event", "pool"], registers });
    this.logLinesDropped = new Counter({
      name: "keypool_log_lines_dropped_total", help: "Per-call log lines dropped by the rate limit (see the summary log lines).", registers,
    });
    new Gauge({
      name: "keypool_keys", help: "Live keys per pool, by state.", labelNames: ["pool", "state"], registers,
      async collect() {
        await Promise.all(poolNames().map(async (pool) => {
          const stats = await pools.pool(pool, false).stats().catch(() => undefined);
          if (!stats) return;
          this.set({ pool, state: "free" }, stats.free);
          this.set({ pool, state: "blocked" }, stats.blocked);
          this.set({ pool, state: "cooling" }, stats.cooling);
        }));
      },
    });
    this.gauge("keypool_open_streams", "Open KeepAlive streams.", () => streams.size);
    // The store keeps cumulative counts; the counter follows them by their growth since the last scrape.
    const seen = new Map<string, { auto_released: number; expired: number }>();
    new Counter({
      name: "keypool_store_events_total", help: "Events the stores settled since they opened (auto_released, expired), per pool.",
      labelNames: ["event", "pool"], registers,
      collect() {
        for (const pool of poolNames()) {
          const { autoReleased, expired } = pools.pool(pool, false).counters();
          const last = seen.get(pool) ?? { auto_released: 0, expired: 0 };
          for (const [event, now] of [["auto_released", autoReleased], ["expired", expired]] as const) {
            this.inc({ event, pool }, Math.max(0, now - last[event]));
            last[event] = Math.max(last[event], now);
          }
          seen.set(pool, last);
        }
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** Adds a gauge read at scrape time. */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({ name, help, registers: [this.registry], collect() { this.set(read()); } });
  }

  /**
   * Creates every method's series at zero (started, handled for every code, the histogram), as
   * go-grpc-prometheus's `InitializeMetrics` does, so rates and alerts work before the first
   * call. O(methods x codes), once.
   */
  initialize(services: readonly DescService[]): void {
    for (const service of services) {
      for (const method of service.methods) {
        const kind = method.methodKind;
        const labels = {
          grpc_type: grpcType(kind === "client_streaming" || kind === "bidi_streaming", kind === "server_streaming" || kind === "bidi_streaming"),
          grpc_service: service.typeName,
          grpc_method: method.name,
        };
        this.started.inc(labels, 0);
        for (const code of GRPC_CODE_NAMES) this.handled.inc({ ...labels, grpc_code: code }, 0);
        this.handling.zero(labels);
      }
    }
  }

  /**
   * Counts `n` events in pool `pool` (its full name). A succeeded event proves the pool exists,
   * so it names the pool; a miss in a pool not known yet counts under UNKNOWN_POOL_LABEL. O(1).
   */
  count(event: PoolEvent, pool: string, n = 1): void {
    if (event !== "acquire_misses") this.known.add(pool);
    this.events.inc({ event, pool: this.known.has(pool) ? pool : UNKNOWN_POOL_LABEL }, n);
  }
}
