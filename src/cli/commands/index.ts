import { serveUsage } from "../usage.js";
import { acquire } from "./acquire.js";
import { COMMON_FLAGS, commandUsage, flagRows } from "./command.js";
import type { CliIo, Command } from "./command.js";
import { generate } from "./generate.js";
import { importKeys } from "./import.js";
import { keepalive } from "./keepalive.js";
import { get, release, remove, renew, stats } from "./key-commands.js";
import { list } from "./list.js";
import { runCommand } from "./run.js";

export type { CliIo } from "./command.js";

/** The client subcommands, in the order `keypool --help` lists them. */
export const CLIENT_COMMANDS: readonly Command[] = [generate, importKeys, acquire, renew, release, remove, keepalive, get, list, stats];

/** The client command called `name`, if any. */
export function clientCommand(name: string): Command | undefined {
  return CLIENT_COMMANDS.find((c) => c.name === name);
}

/** Runs client command `name` (which must exist); resolves with the exit code. */
export function runClientCommand(name: string, argv: readonly string[], io: CliIo): Promise<number> {
  return runCommand(clientCommand(name)!, argv, io);
}

/** `keypool --help`: every command, the common flags, the exit codes. */
export function mainUsage(): string {
  return [
    "Usage: keypool <command> [flags]",
    "",
    "A pool of random API keys, leased to workers over gRPC.",
    "",
    "Every client command works in one pool: --pool (env KEYPOOL_POOL), else the server's default pool.",
    "",
    "Commands:",
    `  ${"serve".padEnd(10)} Serve keypool.v1.KeyService (the default command; see keypool serve --help).`,
    ...CLIENT_COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    `  ${"help".padEnd(10)} Show the help of a command: keypool help <command> (or keypool <command> --help).`,
    "",
    "Common flags of the client commands:",
    ...flagRows(COMMON_FLAGS),
    "",
    "Output: a table on stdout, or one JSON document with --json; progress and errors on stderr.",
    "Keys are printed only where you asked for them; error messages never contain a whole key.",
    "",
    "Exit codes of the client commands:",
    "  0  ok",
    "  1  any other error (e.g. UNAUTHENTICATED, PERMISSION_DENIED, INTERNAL)",
    "  2  usage: a bad flag or argument, or INVALID_ARGUMENT from the server",
    "  3  not found: no such key in the pool, or no free key to acquire",
    "  4  failed precondition or conflict: a stale lease, a key already in the pool (import), or",
    "     RESOURCE_EXHAUSTED (the pool is full, or too many pools)",
    "  5  unavailable: the server is unreachable or shutting down, or the deadline passed",
    "",
  ].join("\n");
}

/** The help of `name` (a command, or `serve`), or undefined for an unknown name. */
export function helpOf(name: string | undefined): string | undefined {
  if (name === undefined) return mainUsage();
  if (name === "serve") return serveUsage();
  const command = clientCommand(name);
  return command && commandUsage(command);
}
