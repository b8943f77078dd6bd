import { pino } from "pino";
import { startServer } from "../server/server.js";
import { describeConfig, parseServeConfig } from "./config.js";
import { openStore } from "./open-store.js";
import { serveUsage } from "./usage.js";

/** `keypool serve`: flags + env -> config -> store -> server; SIGINT/SIGTERM stop it gracefully (exit 0). */
export async function serve(argv: readonly string[]): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(serveUsage());
    return;
  }
  const config = parseServeConfig(argv, process.env);
  const log = pino({ level: config.logLevel, base: undefined });
  const store = await openStore(config);
  const server = await startServer({ host: config.host, port: config.port, store, log });
  log.info({ port: server.port }, describeConfig(config, server.port));
  let signals = 0;
  const stop = (signal: string): void => {
    if (++signals > 1) process.exit(1);
    log.info({ signal }, "shutting down");
    void server.shutdown().then(() => {
      log.info("stopped");
      process.exit(0);
    });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}
