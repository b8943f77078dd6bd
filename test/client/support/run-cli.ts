import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { Readable } from "node:stream";
import { runClientCommand } from "../../../src/cli/commands/index.js";
import type { KeyPoolClientOptions } from "../../../src/index.js";

const MAIN = new URL("../../../src/cli/main.ts", import.meta.url).pathname;

/** What a command did. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** How to run a client command in-process. */
export interface CliOptions {
  readonly address: string;
  readonly env?: Record<string, string>;
  /** Whether stderr claims to be a terminal (progress bars). */
  readonly tty?: boolean;
  /** What the command reads on stdin (`keypool import`); unset: stdin is a terminal. */
  readonly stdin?: string;
  readonly signal?: AbortSignal;
  readonly clientOptions?: Partial<KeyPoolClientOptions>;
}

/** Starts a client command in-process, KEYPOOL_ADDR set to `address`; its stderr can be read while it runs. */
export function startCli(args: readonly string[], options: CliOptions): { done: Promise<CliRun>; stderr: () => string } {
  const stdout = { text: "", write: (s: string) => (stdout.text += s) };
  const stderr = { text: "", isTTY: options.tty ?? false, write: (s: string) => (stderr.text += s) };
  const env = { KEYPOOL_ADDR: options.address, ...options.env };
  const [name, ...rest] = args;
  const stdin = Object.assign(Readable.from(options.stdin === undefined ? [] : [options.stdin]), { isTTY: options.stdin === undefined });
  const io = { stdin, stdout, stderr, env, signal: options.signal ?? new AbortController().signal, clientOptions: options.clientOptions };
  const done = runClientCommand(name!, rest, io).then((code) => ({ code, stdout: stdout.text, stderr: stderr.text }));
  return { done, stderr: () => stderr.text };
}

/**
 * `keypool ...` as its own process, as users run it; output collected as it comes. With `stdin`,
 * that text is piped in (as `keypool import < keys.txt` would get it); else stdin is /dev/null.
 */
export function spawnCli(args: readonly string[], env: Record<string, string> = {}, stdin?: string): { child: ChildProcess; output: { stdout: string; stderr: string }; done: Promise<CliRun> } {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { env: { ...process.env, ...env }, stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
  if (stdin !== undefined) child.stdin!.end(stdin);
  const output = { stdout: "", stderr: "" };
  child.stdout!.on("data", (d: Buffer) => (output.stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output.stderr += d.toString()));
  const done = once(child, "exit").then(([code]) => ({ code: code as number, ...output }));
  return { child, output, done };
}
