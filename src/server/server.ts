import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { addTypedService } from "../grpc/typed-server.js";
import type { CallContext } from "../grpc/typed-server.js";
import { backgroundScheduler } from "../scheduler.js";
import type { Scheduler } from "../scheduler.js";
import { PoolWaiters } from "../store/pool-waiters.js";
import type { PoolSet } from "../store/pool-set.js";
import { accessInterceptor, recheck } from "./access.js";
import type { AccessPolicy } from "./access.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { systemClock } from "../clock.js";
import type { Clock } from "../clock.js";
import { HealthReporter } from "./health.js";
import { ConnectionGuard, listen } from "./listener.js";
import { KeyService, keyServiceImpl } from "./key-service.js";
import { KEEPALIVE_CODEC } from "./keepalive-stream.js";
import { DEFAULT_LIMITS, channelOptions } from "./limits.js";
import type { ServerLimits } from "./limits.js";
import { DEFAULT_LOG_LIMIT, LogLimiter } from "./log-limiter.js";
import type { LogLimit } from "./log-limiter.js";
import { Metrics } from "./metrics.js";
import { Reflection } from "./reflection.js";
import { errorToStatus } from "./status.js";
import { StreamRegistry } from "./stream-registry.js";
import { telemetryInterceptor } from "./telemetry.js";

/** PEM material for TLS; with `clientCa`, clients must present a certificate it signed (mTLS). */
export interface TlsOptions {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly clientCa?: Buffer | undefined;
}

/** How to run a keypool gRPC server. */
export interface ServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** The pools served; shutdown closes them. */
  readonly pools: PoolSet;
  readonly log: Logger;
  /** Who may call what; default: no tokens, loopback clients only, open reflection. */
  readonly access?: AccessPolicy;
  /** Serve TLS instead of plaintext. */
  readonly tls?: TlsOptions | undefined;
  readonly limits?: Partial<ServerLimits>;
  /** Register server reflection; default true. */
  readonly reflection?: boolean;
  /** How long shutdown waits for in-flight calls before cutting them off; default 4 s. */
  readonly shutdownGraceMs?: number;
  /** Per-call log lines (failed and refused calls) allowed per window; default 50 a second. */
  readonly logLimit?: LogLimit;
  /** The clock of the log rate limit and the reset budget; default the system clock. */
  readonly clock?: Clock;
  /** The timers of waiting acquires (default: real, unref'd timers); tests pass a ManualScheduler. */
  readonly scheduler?: Scheduler;
  /** Registers more services on the same server before it binds (benchmarks' echo service). */
  readonly configure?: (server: grpc.Server) => void;
}

/** A running server. */
export interface RunningServer {
  /** The port actually bound. */
  readonly port: number;
  /** Open KeepAlive streams. */
  readonly streams: StreamRegistry;
  /** Callers waiting in AcquireKey, per pool. */
  readonly waiters: PoolWaiters;
  readonly metrics: Metrics;
  /** The health service: `serving` is what health and `/readyz` report. */
  readonly health: HealthReporter;
  /**
   * Graceful stop: health goes NOT_SERVING, no new calls are accepted, open streams end with
   * UNAVAILABLE, waiting acquires get UNAVAILABLE, in-flight unary calls finish; after the grace
   * period the rest is cut off. Closes the pools last. Idempotent.
   */
  shutdown(): Promise<void>;
}

const DEFAULT_ACCESS: AccessPolicy = { tokens: undefined, allowInsecureRemote: false, reflection: "open" };

function credentials(tls: TlsOptions | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], Boolean(tls.clientCa));
}

/** Starts the KeyService with reflection, health, access control and metrics on `host:port`. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { pools, log } = options;
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const access = options.access ?? DEFAULT_ACCESS;
  const streams = new StreamRegistry();
  const stopRechecks = access.tokens?.reloaded.subscribe(() => {
    const ended = streams.recheck() + (reflection?.streams.recheck() ?? 0);
    if (ended > 0) log.info({ streams: ended }, "ended streams the reloaded auth file no longer allows");
  });
  const metrics = new Metrics(pools, streams);
  const clock = options.clock ?? systemClock;
  const guard = new ConnectionGuard(limits, clock, log);
  const lines = new LogLimiter(log, clock, options.logLimit ?? DEFAULT_LOG_LIMIT, () => metrics.logLinesDropped.inc());
  const server = new grpc.Server({
    ...channelOptions(limits),
    interceptors: [guard.interceptor(), telemetryInterceptor(metrics, lines), accessInterceptor(access, limits.maxMetadataBytes)],
  });
  const waiters = new PoolWaiters(pools, { maxWaiters: limits.maxWaiters, scheduler: options.scheduler ?? backgroundScheduler });
  const health = new HealthReporter(pools, { maxWatches: limits.maxHealthWatches, log });
  metrics.gauge("keypool_open_health_watches", "Open health Watch streams.", () => health.openWatches);
  const recheckCall = (context: CallContext): Error | undefined =>
    recheck(access, context.method, context.metadata, context.peer.slice(0, context.peer.lastIndexOf(":")));
  const impl = keyServiceImpl({ pools, waiters, streams, limits, metrics, recheck: recheckCall });
  addTypedService(server, KeyService, impl, (err, context) => errorToStatus(err, context, log), { keepAlive: KEEPALIVE_CODEC });
  health.addToServer(server);
  const reflection = options.reflection ?? true ? new Reflection([KeyService.typeName, Health.typeName], recheckCall) : undefined;
  reflection?.addToServer(server, (err, context) => errorToStatus(err, context, log));
  metrics.initialize([KeyService, Health, ...(reflection?.descriptors ?? [])]);
  options.configure?.(server);
  metrics.gauge("keypool_open_connections", "Open client connections.", () => guard.gate.size);
  // Our own listener, so every connection passes the gate before grpc-js sees it.
  const injector = server.createConnectionInjector(credentials(options.tls));
  const listening = await listen(options.host, options.port, guard, (socket) => injector.injectConnection(socket));
  const port = listening.port;
  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (stopping ??= (async () => {
      stopRechecks?.();
      listening.close();
      health.drain();
      streams.close();
      reflection?.streams.close();
      waiters.close();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, options.shutdownGraceMs ?? 4_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      lines.flush();
      await pools.close();
    })());
  return { port, streams, waiters, metrics, health, shutdown };
}
