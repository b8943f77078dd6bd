import type { KeyPoolClient } from "../../client/key-pool-client.js";
import type { KeyPoolClientOptions } from "../../client/options.js";
import type { Sink } from "../output.js";

/** Where `keypool import` reads keys: process.stdin, or text in tests. */
export interface Source extends AsyncIterable<string | Buffer> {
  /** True when it is a terminal (nobody piped a file in). */
  readonly isTTY?: boolean;
}

/** What a client command reads and writes; the process's in `main.ts`, buffers in tests. */
export interface CliIo {
  readonly stdin: Source;
  readonly stdout: Sink;
  readonly stderr: Sink;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted on SIGINT/SIGTERM: `keepalive --hold` stops, one-shot calls are cancelled. */
  readonly signal: AbortSignal;
  /** Merged into the client's options (tests inject a scheduler). */
  readonly clientOptions?: Partial<KeyPoolClientOptions>;
}

/** One flag of a command. */
export interface FlagSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  /** The value's placeholder in help, e.g. `N` or `FILE`. */
  readonly value?: string;
  readonly help: string;
  /** Environment twin, read when the flag is absent. */
  readonly env?: string;
  readonly default?: string;
  /** The only values it takes (help and shell completion list them). */
  readonly choices?: readonly string[];
}

/** Parsed flag values. */
export type FlagValues = Readonly<Record<string, string | boolean | undefined>>;

/** What a command's `run` gets. */
export interface CommandContext {
  readonly values: FlagValues;
  readonly positionals: readonly string[];
  readonly json: boolean;
  readonly io: CliIo;
  /** Connected to --addr with the token and TLS flags; closed after `run`. */
  readonly client: KeyPoolClient;
  /** The pool every call of the command goes to (--pool, checked): "" for the server's default pool. */
  readonly pool: string;
}

/** A client subcommand: its help is generated from these fields, so it never drifts. */
export interface Command {
  readonly name: string;
  /** What follows the name in the usage line, e.g. `KEY [--lease ID]`. */
  readonly synopsis: string;
  /** One line for `keypool --help`. */
  readonly summary: string;
  /** Paragraphs for the command's own `--help`. */
  readonly description: readonly string[];
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** How many positional arguments it takes. */
  readonly positionals: { readonly min: number; readonly max: number };
  /** What `--json` prints, for the help text. */
  readonly jsonShape: string;
  /** Resolves with the exit code; throws UsageError or KeyPoolClientError. */
  run(context: CommandContext): Promise<number>;
}

/** Flags every client command takes. */
export const COMMON_FLAGS: Readonly<Record<string, FlagSpec>> = {
  addr: { type: "string", value: "HOST:PORT", env: "KEYPOOL_ADDR", default: "localhost:50051", help: "the server" },
  token: { type: "string", value: "TOKEN", env: "KEYPOOL_TOKEN", help: "bearer token sent with every call" },
  tls: { type: "boolean", help: "connect over TLS, trusting the system's CAs (implied by the --tls-* flags)" },
  "tls-ca": { type: "string", value: "FILE", env: "KEYPOOL_CLIENT_TLS_CA", help: "PEM CA to trust instead of the system's" },
  "tls-cert": { type: "string", value: "FILE", env: "KEYPOOL_CLIENT_TLS_CERT", help: "PEM client certificate, for mutual TLS" },
  "tls-key": { type: "string", value: "FILE", env: "KEYPOOL_CLIENT_TLS_KEY", help: "PEM private key of --tls-cert" },
  pool: { type: "string", value: "POOL", env: "KEYPOOL_POOL", help: "the pool to work in; unset: the server's default pool" },
  timeout: { type: "string", value: "DURATION", env: "KEYPOOL_TIMEOUT", default: "10s", help: "deadline of each call, retries included" },
  json: { type: "boolean", help: "print one JSON document on stdout instead of a table" },
  help: { type: "boolean", short: "h", help: "show this help" },
};

function flagRow(name: string, spec: FlagSpec): string {
  const head = `  ${spec.short ? `-${spec.short}, ` : ""}--${name}${spec.value ? ` ${spec.value}` : ""}`;
  const extras = [spec.choices && `one of ${spec.choices.join(", ")}`, spec.env && `env ${spec.env}`, spec.default && `default ${spec.default}`].filter(Boolean).join(", ");
  return `${head.padEnd(30)} ${spec.help}${extras ? ` (${extras})` : ""}`;
}

/** Wraps a paragraph at `width` columns on spaces. O(length). */
export function wrap(text: string, width = 100): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join("\n");
}

/** One help line per flag: name, value placeholder, help, environment twin, default. */
export function flagRows(flags: Readonly<Record<string, FlagSpec>>): string[] {
  return Object.entries(flags).map(([name, spec]) => flagRow(name, spec));
}

/** The complete `--help` of one command. */
export function commandUsage(command: Command): string {
  return [
    `Usage: keypool ${command.name} ${command.synopsis}`.trimEnd(),
    "",
    command.summary,
    "",
    ...command.description.flatMap((p) => [wrap(p), ""]),
    ...(Object.keys(command.flags).length ? ["Flags:", ...flagRows(command.flags), ""] : []),
    "Common flags:",
    ...flagRows(COMMON_FLAGS),
    "",
    wrap(`With --json: ${command.jsonShape}`),
    "",
    'Exit codes: 0 ok, 1 other error, 2 usage, 3 not found, 4 failed precondition or conflict, 5 unavailable. See "keypool --help".',
    "",
  ].join("\n");
}
