import { spawn } from "node:child_process";
import type { ChildProcess, StdioOptions } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

const ROOT = new URL("../..", import.meta.url).pathname;
const SOURCE_MAIN = `${ROOT}src/cli/main.ts`;

/** A `keypool` process started by a test; killed with SIGKILL by `killAll` if still running. */
export interface KeypoolProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code (or 128 + signal number) when it exits. */
  readonly exited: Promise<number>;
}

const running: ChildProcess[] = [];

/** How to start it: from source through tsx (the default) or any other command line. */
export interface SpawnOptions {
  readonly env?: Record<string, string>;
  readonly stdio?: StdioOptions;
  /** The command line to run instead of `node --import tsx src/cli/main.ts`, e.g. `["npm", "start", "--"]`. */
  readonly command?: readonly string[];
  readonly cwd?: string;
  readonly detached?: boolean;
}

/** Runs `keypool ARGS...` as users do, in its own process. */
export function spawnKeypool(args: readonly string[], options: SpawnOptions = {}): KeypoolProcess {
  const [file, ...head] = options.command ?? [process.execPath, "--import", "tsx", SOURCE_MAIN];
  const child = spawn(file!, [...head, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: options.stdio ?? ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  running.push(child);
  const exited = once(child, "exit").then(([code, signal]) => (code as number | null) ?? 128 + signalNumber(signal as NodeJS.Signals));
  return { child, exited };
}

function signalNumber(signal: NodeJS.Signals): number {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal as string] ?? 0;
}

/** Kills every process this module started that is still running (test teardown). */
export function killAll(): void {
  for (const child of running.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

const readers = new WeakMap<ChildProcess, AsyncIterator<string>>();

/**
 * Reads JSON log lines from the child's stdout until `match` accepts one, and returns it. Calls
 * share one reader per child, so no line is lost between them.
 */
export async function logLine(child: ChildProcess, match: (line: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>> {
  let lines = readers.get(child);
  if (!lines) readers.set(child, (lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()));
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    if (!next.value.startsWith("{")) continue;
    const line = JSON.parse(next.value) as Record<string, unknown>;
    if (match(line)) return line;
  }
  throw new Error("the process ended before printing the expected log line");
}

/** Collects a stream's text as it comes. */
export function collect(stream: NodeJS.ReadableStream | null): { text: string } {
  const out = { text: "" };
  stream?.on("data", (d: Buffer) => (out.text += d.toString()));
  return out;
}
