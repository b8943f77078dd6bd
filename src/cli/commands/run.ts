import { parseArgs } from "node:util";
import { createKeyPoolClient } from "../../client/key-pool-client.js";
import type { KeyPoolClient } from "../../client/key-pool-client.js";
import type { KeyPoolClientOptions, TlsOptions } from "../../client/options.js";
import { argvErrorLine, joinDashValues, shownValue } from "../argv.js";
import { parseDuration } from "../duration.js";
import { dialTarget } from "../address.js";
import { describeFailure, reportFailure } from "../error-report.js";
import type { CallTarget } from "../error-report.js";
import { UsageError } from "../output.js";
import { readPemFile } from "../pem.js";
import { isPoolName, messages } from "../../pool/rules.js";
import { COMMON_FLAGS, commandUsage } from "./command.js";
import type { CliIo, Command, FlagSpec, FlagValues } from "./command.js";

/** Parses argv strictly; flags fall back to their environment twin, then their default. */
export function parseCommandArgs(
  command: Command,
  argv: readonly string[],
  env: CliIo["env"],
): { values: FlagValues; positionals: string[]; label: FlagLabel } {
  const specs: Record<string, FlagSpec> = { ...COMMON_FLAGS, ...command.flags };
  const options = Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, s.short ? { type: s.type, short: s.short } : { type: s.type }]));
  const spellings: [string, string, FlagSpec][] = Object.entries(specs).flatMap(([name, s]) => [
    [`--${name}`, name, s] as [string, string, FlagSpec],
    ...(s.short ? [[`-${s.short}`, name, s] as [string, string, FlagSpec]] : []),
  ]);
  const valueFlags = new Map(spellings.filter(([, , s]) => s.type === "string").map(([spelling, name]) => [spelling, name]));
  const known = new Set(spellings.map(([spelling]) => spelling));
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: joinDashValues(argv, valueFlags, known), options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(argvErrorLine(err));
  }
  const values: Record<string, string | boolean | undefined> = { ...parsed.values };
  const fromEnv = new Set<string>();
  for (const [name, spec] of Object.entries(specs)) {
    if (values[name] === undefined && spec.env && env[spec.env]) fromEnv.add(name);
    values[name] ??= (spec.env ? env[spec.env] || undefined : undefined) ?? spec.default;
  }
  const label: FlagLabel = (flag) => (fromEnv.has(flag) ? specs[flag]!.env! : typed(flag));
  for (const [name, spec] of Object.entries(specs)) {
    const value = values[name];
    if (spec.choices && typeof value === "string" && !spec.choices.includes(value)) {
      throw new UsageError(`invalid ${shownValue(label(name), value)}: expected one of ${spec.choices.join(", ")}`);
    }
  }
  return { values, positionals: parsed.positionals, label };
}

/** How messages name a flag: `--timeout`, or `KEYPOOL_TIMEOUT` when its value came from there. */
export type FlagLabel = (flag: string) => string;

const typed: FlagLabel = (flag) => `--${flag}`;

function pem(values: FlagValues, flag: "tls-ca" | "tls-cert" | "tls-key"): Buffer | undefined {
  const path = values[flag];
  if (typeof path !== "string") return undefined;
  return readPemFile(flag, path, flag === "tls-key" ? "private key" : "certificate", (m) => new UsageError(m));
}

/** The --pool value ("" when unset: the server's default pool), or a UsageError naming the flag (or its variable). */
export function poolOf(values: FlagValues, label: FlagLabel = typed): string {
  const pool = values.pool === undefined ? "" : String(values.pool);
  if (pool !== "" && !isPoolName(pool)) throw new UsageError(`invalid ${label("pool")}: ${messages.invalidPoolName(pool)}`);
  return pool;
}

/** Client options from the common flags; a bad value is a UsageError naming the flag (or its variable). */
export function clientOptionsOf(values: FlagValues, label: FlagLabel = typed): KeyPoolClientOptions {
  const timeout = String(values.timeout);
  const defaultTimeoutMs = parseDuration(timeout);
  if (!defaultTimeoutMs) throw new UsageError(`invalid ${shownValue(label("timeout"), timeout)}: expected a positive duration like 10s or 1500ms`);
  const [ca, cert, key] = (["tls-ca", "tls-cert", "tls-key"] as const).map((f) => pem(values, f));
  if (Boolean(cert) !== Boolean(key)) throw new UsageError("mutual TLS needs both --tls-cert and --tls-key");
  const tls: TlsOptions | undefined = values.tls || ca || cert ? { ca, cert, key } : undefined;
  const token = values.token as string | undefined;
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) throw new UsageError(`invalid ${label("token")}: expected printable ASCII without spaces`);
  return { defaultTimeoutMs, ...(tls ? { tls } : {}), ...(token ? { token } : {}) };
}

/**
 * Runs one client command: parses its flags, answers `--help`, connects, runs it, reports any
 * error as one line on stderr, closes the client. Resolves with the exit code; never throws.
 */
export async function runCommand(command: Command, argv: readonly string[], io: CliIo): Promise<number> {
  let client: KeyPoolClient | undefined;
  let target: CallTarget | undefined;
  let json = argv.includes("--json");
  try {
    const { values, positionals, label } = parseCommandArgs(command, argv, io.env);
    json = Boolean(values.json);
    if (values.help) {
      io.stdout.write(commandUsage(command));
      return 0;
    }
    const { min, max } = command.positionals;
    if (positionals.length < min || positionals.length > max) {
      throw new UsageError(`expected: keypool ${command.name} ${command.synopsis}`.trimEnd());
    }
    const options = { ...clientOptionsOf(values, label), ...io.clientOptions };
    const pool = poolOf(values, label);
    const addr = dialTarget(String(values.addr), label("addr"));
    target = { addr, timeoutMs: options.defaultTimeoutMs ?? 0 };
    client = createKeyPoolClient(addr, options);
    return await command.run({ values, positionals, json, io, client, pool });
  } catch (err) {
    const failure = describeFailure(err, target);
    reportFailure(io.stderr, command.name, failure, json);
    return failure.exitCode;
  } finally {
    client?.close();
  }
}
