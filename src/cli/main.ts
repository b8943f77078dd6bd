#!/usr/bin/env node
import { pino } from "pino";
import { startServer } from "../server/server.js";
import { ConfigError, describeConfig, parseServeConfig } from "./config.js";
import { openStore } from "./open-store.js";
import { serveUsage } from "./usage.js";

/** `keypool serve`: config -> store -> server; SIGINT/SIGTERM stop it gracefully, exit 0. */
async function serve(argv: readonly string[]): Promise<void> {
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

async function main(argv: readonly string[]): Promise<void> {
  const [command = "serve", ...rest] = argv;
  if (command === "serve") return serve(rest);
  if (command.startsWith("-")) return serve(argv);
  throw new ConfigError(`unknown command "${command}"; try: keypool serve --help`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`keypool: ${err instanceof ConfigError ? err.message : (err as Error)?.message ?? String(err)}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
