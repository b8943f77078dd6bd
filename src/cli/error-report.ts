import { KeyPoolClientError } from "../client/errors.js";
import { formatDuration } from "./duration.js";
import { exitCodeOf, UsageError } from "./output.js";
import type { Sink } from "./output.js";

/** Where a client command was talking to, for messages about reaching it. */
export interface CallTarget {
  readonly addr: string;
  readonly timeoutMs: number;
}

/** A failure as the CLI reports it: a status name (or USAGE/ERROR), one actionable line, the exit code. */
export interface Failure {
  readonly code: string;
  readonly message: string;
  readonly exitCode: number;
}

/** Socket error codes as a person says them. */
const SOCKET_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused (is keypool serve running there?)",
  ECONNRESET: "the connection was reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "the connection timed out",
  ENOENT: "no such socket",
  EACCES: "permission denied",
};

/** Why grpc-js could not connect, from its "No connection established" text; undefined when it connected. */
function connectProblem(details: string): string | undefined {
  if (/^Name resolution failed/.test(details)) return "host not found";
  const last = /^No connection established\. Last error: (?:Error: )?([\s\S]*?)\.?\s*Resolution note:/.exec(details)?.[1];
  if (last === undefined) return undefined;
  const code = /\b(E[A-Z]+)\b/.exec(last)?.[1];
  if (code && SOCKET_ERRORS[code]) return SOCKET_ERRORS[code];
  if (/wrong version number|packet length too long|http request/i.test(last)) return "TLS handshake failed: the server does not speak TLS (drop --tls and the --tls-* flags)";
  if (/SSL|TLS|certificate|altnames/i.test(last)) return `TLS handshake failed: ${last.replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:/, "").split(":")[0]!.trim()}`;
  return last.split("\n")[0]!.trim();
}

/** Describes what a client command threw, in words a person can act on. Never holds a whole key. */
export function describeFailure(err: unknown, target: CallTarget | undefined): Failure {
  const exitCode = exitCodeOf(err);
  if (err instanceof UsageError) return { code: "USAGE", message: err.message, exitCode };
  if (!(err instanceof KeyPoolClientError)) return { code: "ERROR", message: (err as Error)?.message ?? String(err), exitCode };
  const where = target ? `keypool at ${target.addr}` : "keypool";
  if (err.code === "UNAVAILABLE") {
    const problem = connectProblem(err.details);
    if (problem) return { code: err.code, message: `cannot reach ${where}: ${problem}`, exitCode };
  }
  if (err.code === "DEADLINE_EXCEEDED" && target) {
    return { code: err.code, message: `no answer from ${where} within ${formatDuration(target.timeoutMs)} (--timeout)`, exitCode };
  }
  return { code: err.code, message: `${err.code}: ${err.details}`, exitCode };
}

/** Writes the failure to stderr: one line (and a usage hint), or under --json one JSON object. */
export function reportFailure(out: Sink, command: string, failure: Failure, json: boolean): void {
  if (json) out.write(`${JSON.stringify({ error: { command, ...failure } })}\n`);
  else if (failure.code === "USAGE") out.write(`keypool ${command}: ${failure.message}\nRun "keypool ${command} --help" for usage.\n`);
  else out.write(`keypool ${command}: ${failure.message}\n`);
}
