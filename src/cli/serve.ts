import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import type { Logger } from "pino";
import { TokenRegistry } from "../server/auth.js";
import { serveMetrics } from "../server/metrics-http.js";
import { startServer } from "../server/server.js";
import type { TlsOptions } from "../server/server.js";
import { ConfigError, configFields, describeConfig, parseServeConfig } from "./config.js";
import type { ServeConfig } from "./config.js";
import { LogDestination } from "./log-destination.js";
import { openStore } from "./open-store.js";
import { readPemFile } from "./pem.js";
import { onStopSignals, signalExitCode } from "./shutdown-signals.js";
import { StartupFailed } from "./startup-failed.js";
import { serveUsage } from "./usage.js";

function tlsOf(config: ServeConfig): TlsOptions | undefined {
  if (!config.tls) return undefined;
  const { cert, key, clientCa } = config.tls;
  const fail = (message: string): Error => new ConfigError(message);
  return {
    cert: readPemFile("tls-cert", cert, "certificate", fail),
    key: readPemFile("tls-key", key, "private key", fail),
    clientCa: clientCa === undefined ? undefined : readPemFile("tls-client-ca", clientCa, "certificate", fail),
  };
}

function tokensOf(config: ServeConfig, log: Logger): TokenRegistry | undefined {
  if (!config.authFile) return undefined;
  let tokens: TokenRegistry;
  try {
    tokens = new TokenRegistry(config.authFile);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  process.on("SIGHUP", () => {
    try {
      log.info({ tokens: tokens.reload() }, "auth file reloaded");
    } catch (err) {
      log.error({ err: (err as Error).message }, "auth file reload failed; keeping the tokens loaded before");
    }
  });
  return tokens;
}

/** What redaction leaves alone: counts and flags are never secret (`recovery.keys: 20000`). */
const censor = (value: unknown): unknown => (typeof value === "number" || typeof value === "boolean" || value == null ? value : "[redacted]");

/**
 * The pino logger: JSON lines; keys, lease ids and tokens redacted wherever they appear as
 * fields (strings, arrays, objects), while numbers under those names (counts) stay readable.
 * Lines go to a bounded, never-blocking LogDestination on stdout unless another is given.
 */
export function makeLogger(level: string, destination: { write(line: string): void } = new LogDestination(process.stdout)): Logger {
  return pino({
    level,
    base: undefined,
    redact: { paths: ["key", "*.key", "keys", "*.keys", "leaseId", "*.leaseId", "token", "authorization", "*.authorization"], censor },
  }, destination);
}

/** Budget from the first stop signal to exit, whatever is still running: the promise is "within 5 s". */
const STOP_DEADLINE_MS = 4_800;
/** Of that budget, the longest wait for the last log lines to reach a slow reader. */
const LOG_FLUSH_MS = 500;

/** The listening address as people write it: `[::1]:50051` for IPv6 hosts. */
function hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** A port that cannot be taken ends start-up with one log line and exit code 2; other errors are rethrown. */
async function listening<T>(what: string, flag: string, host: string, port: number, log: Logger, bind: () => Promise<T>): Promise<T> {
  try {
    return await bind();
  } catch (err) {
    const code = /\b(EADDRINUSE|EACCES|EADDRNOTAVAIL|ENOTFOUND)\b/.exec((err as Error).message)?.[1];
    if (!code) throw err;
    const why = { EADDRINUSE: "is already in use", EACCES: "needs privileges this process lacks", EADDRNOTAVAIL: "is not an address of this host", ENOTFOUND: "does not resolve" }[code]!;
    log.fatal({ code, host, port }, `cannot listen for ${what} on ${hostPort(host, port)}: the address ${why}; choose another ${flag} (or --host)`);
    throw new StartupFailed();
  }
}

/** grpc-js's own log lines go to the JSON log at debug level: its errors reach us through its API. */
function routeGrpcLogs(log: Logger): void {
  const line = (...args: unknown[]): void => log.debug({ component: "grpc-js" }, args.map(String).join(" "));
  grpc.setLogger({ error: line, info: line, debug: line });
}

/**
 * SIGINT/SIGTERM: `shutdown` (drain), then exit 0; past STOP_DEADLINE_MS exit 1 whatever is left;
 * a second signal exits at once with 128 + its number. The last log lines get LOG_FLUSH_MS.
 */
function stopOnSignals(log: Logger, destination: LogDestination, shutdown: () => Promise<void>): void {
  const exit = (code: number): void => void destination.flush(LOG_FLUSH_MS).then(() => process.exit(code));
  onStopSignals({
    first: (signal) => {
      log.info({ signal }, "shutting down");
      setTimeout(() => {
        log.error({ signal, afterMs: STOP_DEADLINE_MS }, "shutdown did not finish in time; exiting without waiting for the rest");
        exit(1);
      }, STOP_DEADLINE_MS - LOG_FLUSH_MS);
      void shutdown().then(() => {
        log.info({ droppedLogLines: destination.dropped }, "stopped");
        exit(0);
      });
    },
    again: (signal) => {
      log.warn({ signal }, "second stop signal: exiting at once, without draining");
      process.exit(signalExitCode(signal));
    },
  });
}

/** `keypool serve`: flags + env -> config -> store -> server; SIGINT/SIGTERM stop it gracefully (exit 0). */
export async function serve(argv: readonly string[]): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(serveUsage());
    return;
  }
  const config = parseServeConfig(argv, process.env);
  const destination = new LogDestination(process.stdout);
  const log = makeLogger(config.logLevel, destination);
  routeGrpcLogs(log);
  const tls = tlsOf(config);
  const tokens = tokensOf(config, log);
  // A Redis pool found to have other settings only after a late connection: the start-up refusal, late.
  const pools = await openStore(config, (message) => {
    log.fatal(message);
    process.stderr.write(`keypool: ${message}\n`);
    process.exit(2);
  });
  const server = await listening("gRPC", "--port", config.host, config.port, log, () => startServer({
    host: config.host, port: config.port, pools, log, tls, limits: config.limits,
    access: { tokens, allowInsecureRemote: config.allowInsecureRemote, reflection: config.reflection === "open" ? "open" : "authenticated" },
    reflection: config.reflection !== "off",
  }));
  let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  // Before the first log line: once it says "listening", a stop signal drains.
  stopOnSignals(log, destination, () => {
    metrics?.server.close();
    return server.shutdown();
  });
  const probes = { ready: () => server.health.serving };
  const m = config.metrics;
  metrics = m ? await listening("metrics", "--metrics-port", m.host, m.port, log, () => serveMetrics(server.metrics, probes, m.host, m.port)) : undefined;
  log.info({ port: server.port, metricsPort: metrics?.port, config: configFields(config) }, describeConfig(config, server.port));
  const about = pools.describe();
  log.info({ store: about.store, ...about.details }, about.summary);
}
