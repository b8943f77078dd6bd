#!/usr/bin/env node
import { clientCommand, helpOf, runClientCommand } from "./commands/index.js";
import type { CliIo } from "./commands/index.js";
import { completionScript } from "./completion.js";
import { ConfigError } from "./config.js";
import { onStopSignals, signalExitCode } from "./shutdown-signals.js";
import { StartupFailed } from "./startup-failed.js";
import { packageVersion } from "./version.js";

/** The process's streams and environment; SIGINT/SIGTERM abort the signal, a second one exits at once. */
function processIo(): CliIo {
  const controller = new AbortController();
  onStopSignals({ first: () => controller.abort(), again: (signal) => process.exit(signalExitCode(signal)) });
  // `keypool generate -n 100000 | head`: the reader has what it wanted; stop at once, quietly.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
  });
  // A client command prints one line per error; library deprecation notices are not for its user.
  process.noDeprecation = true;
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal };
}

/** `keypool serve`, loaded only when asked for: the stores, metrics and logging cost a client command ~1 s to load. */
async function serve(argv: readonly string[]): Promise<void> {
  return (await import("./serve.js")).serve(argv);
}

async function main(argv: readonly string[]): Promise<void> {
  const [command = "serve", ...rest] = argv;
  if (command === "serve") return serve(rest);
  if (command === "--version" || command === "-V" || command === "version") {
    process.stdout.write(`keypool ${packageVersion()}\n`);
    return;
  }
  if (command === "completion") {
    process.stdout.write(completionScript(rest[0]));
    return;
  }
  if (command === "--help" || command === "-h" || command === "help") {
    const help = helpOf(rest[0]);
    if (help === undefined) throw new ConfigError(`unknown command "${rest[0]}"; try: keypool --help`);
    process.stdout.write(help);
    return;
  }
  if (command.startsWith("-")) return serve(argv);
  if (clientCommand(command)) {
    process.exitCode = await runClientCommand(command, rest, processIo());
    return;
  }
  throw new ConfigError(`unknown command "${command}"; try: keypool --help`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (!(err instanceof StartupFailed)) {
    process.stderr.write(`keypool: ${err instanceof ConfigError ? err.message : (err as Error)?.message ?? String(err)}\n`);
  }
  process.exit(err instanceof ConfigError || err instanceof StartupFailed ? 2 : 1);
});
