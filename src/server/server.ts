import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { addTypedService } from "../grpc/typed-server.js";
import type { KeyStore } from "../store/key-store.js";
import { HealthReporter } from "./health.js";
import { KeyService, keyServiceImpl } from "./key-service.js";
import { addReflection } from "./reflection.js";
import { errorToStatus } from "./status.js";
import { StreamRegistry } from "./stream-registry.js";

/** How to run a keypool gRPC server. */
export interface ServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly store: KeyStore;
  readonly log: Logger;
  /** How long shutdown waits for in-flight calls before cutting them off; default 4 s. */
  readonly shutdownGraceMs?: number;
  /** Registers more services on the same server before it binds (benchmarks' echo service). */
  readonly configure?: (server: grpc.Server) => void;
}

/** A running server. */
export interface RunningServer {
  /** The port actually bound. */
  readonly port: number;
  /** Open KeepAlive streams. */
  readonly streams: StreamRegistry;
  /**
   * Graceful stop: health goes NOT_SERVING, no new calls are accepted, open streams end with
   * UNAVAILABLE, in-flight unary calls finish; after the grace period the rest is cut off.
   * Closes the store last. Idempotent.
   */
  shutdown(): Promise<void>;
}

/** Starts the KeyService with reflection and health on `host:port`. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { store, log } = options;
  const server = new grpc.Server({
    "grpc.max_receive_message_length": 4 * 1024 * 1024,
  });
  const streams = new StreamRegistry();
  const health = new HealthReporter(store);
  addTypedService(server, KeyService, keyServiceImpl(store, streams), (err, context) => errorToStatus(err, context, log));
  health.addToServer(server);
  addReflection(server);
  options.configure?.(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (stopping ??= (async () => {
      health.drain();
      streams.close();
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
      await store.close();
    })());
  return { port, streams, shutdown };
}
