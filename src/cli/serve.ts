import { readFileSync } from "node:fs";
import { pino } from "pino";
import type { Logger } from "pino";
import { TokenRegistry } from "../server/auth.js";
import { serveMetrics } from "../server/metrics-http.js";
import { startServer } from "../server/server.js";
import type { TlsOptions } from "../server/server.js";
import { ConfigError, configFields, describeConfig, parseServeConfig } from "./config.js";
import type { ServeConfig } from "./config.js";
import { openStore } from "./open-store.js";
import { serveUsage } from "./usage.js";

function readPem(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`cannot read --${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function tlsOf(config: ServeConfig): TlsOptions | undefined {
  if (!config.tls) return undefined;
  const { cert, key, clientCa } = config.tls;
  return {
    cert: readPem("tls-cert", cert),
    key: readPem("tls-key", key),
    clientCa: clientCa === undefined ? undefined : readPem("tls-client-ca", clientCa),
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
 */
export function makeLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    redact: { paths: ["key", "*.key", "keys", "*.keys", "leaseId", "*.leaseId", "token", "authorization", "*.authorization"], censor },
  });
}

/** `keypool serve`: flags + env -> config -> store -> server; SIGINT/SIGTERM stop it gracefully (exit 0). */
export async function serve(argv: readonly string[]): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(serveUsage());
    return;
  }
  const config = parseServeConfig(argv, process.env);
  const log = makeLogger(config.logLevel);
  const tls = tlsOf(config);
  const tokens = tokensOf(config, log);
  // A Redis pool found to have other settings only after a late connection: the start-up refusal, late.
  const store = await openStore(config, (message) => {
    log.fatal(message);
    process.stderr.write(`keypool: ${message}\n`);
    process.exit(2);
  });
  const server = await startServer({
    host: config.host, port: config.port, store, log, tls, limits: config.limits,
    access: { tokens, allowInsecureRemote: config.allowInsecureRemote, reflection: config.reflection === "open" ? "open" : "authenticated" },
    reflection: config.reflection !== "off",
  });
  const probes = { ready: () => server.health.serving };
  const metrics = config.metrics ? await serveMetrics(server.metrics, probes, config.metrics.host, config.metrics.port) : undefined;
  log.info({ port: server.port, metricsPort: metrics?.port, config: configFields(config) }, describeConfig(config, server.port));
  const about = store.describe();
  log.info({ store: about.store, ...about.details }, about.summary);
  let signals = 0;
  const stop = (signal: string): void => {
    if (++signals > 1) process.exit(1);
    log.info({ signal }, "shutting down");
    metrics?.server.close();
    void server.shutdown().then(() => {
      log.info("stopped");
      process.exit(0);
    });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}
