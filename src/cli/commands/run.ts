import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createKeyPoolClient } from "../../client/key-pool-client.js";
import type { KeyPoolClient } from "../../client/key-pool-client.js";
import type { KeyPoolClientOptions, TlsOptions } from "../../client/options.js";
import { parseDuration } from "../duration.js";
import { errorLine, exitCodeOf, UsageError } from "../output.js";
import { COMMON_FLAGS, commandUsage } from "./command.js";
import type { CliIo, Command, FlagSpec, FlagValues } from "./command.js";

/** Parses argv strictly; flags fall back to their environment twin, then their default. */
export function parseCommandArgs(command: Command, argv: readonly string[], env: CliIo["env"]): { values: FlagValues; positionals: string[] } {
  const specs: Record<string, FlagSpec> = { ...COMMON_FLAGS, ...command.flags };
  const options = Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, s.short ? { type: s.type, short: s.short } : { type: s.type }]));
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]!);
  }
  const values: Record<string, string | boolean | undefined> = { ...parsed.values };
  for (const [name, spec] of Object.entries(specs)) {
    values[name] ??= (spec.env ? env[spec.env] || undefined : undefined) ?? spec.default;
  }
  return { values, positionals: parsed.positionals };
}

function readPem(flag: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read --${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Client options from the common flags; a bad value is a UsageError naming the flag. */
export function clientOptionsOf(values: FlagValues): KeyPoolClientOptions {
  const timeout = String(values.timeout);
  const defaultTimeoutMs = parseDuration(timeout);
  if (!defaultTimeoutMs) throw new UsageError(`invalid --timeout "${timeout}": expected a positive duration like 10s or 1500ms`);
  const [ca, cert, key] = (["tls-ca", "tls-cert", "tls-key"] as const).map((f) => readPem(f, values[f] as string | undefined));
  if (Boolean(cert) !== Boolean(key)) throw new UsageError("mutual TLS needs both --tls-cert and --tls-key");
  const tls: TlsOptions | undefined = values.tls || ca || cert ? { ca, cert, key } : undefined;
  const token = values.token as string | undefined;
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) throw new UsageError("invalid --token: expected printable ASCII without spaces");
  return { defaultTimeoutMs, ...(tls ? { tls } : {}), ...(token ? { token } : {}) };
}

/**
 * Runs one client command: parses its flags, answers `--help`, connects, runs it, reports any
 * error as one line on stderr, closes the client. Resolves with the exit code; never throws.
 */
export async function runCommand(command: Command, argv: readonly string[], io: CliIo): Promise<number> {
  let client: KeyPoolClient | undefined;
  try {
    const { values, positionals } = parseCommandArgs(command, argv, io.env);
    if (values.help) {
      io.stdout.write(commandUsage(command));
      return 0;
    }
    const { min, max } = command.positionals;
    if (positionals.length < min || positionals.length > max) {
      throw new UsageError(`expected: keypool ${command.name} ${command.synopsis}`.trimEnd());
    }
    client = createKeyPoolClient(String(values.addr), { ...clientOptionsOf(values), ...io.clientOptions });
    return await command.run({ values, positionals, json: Boolean(values.json), io, client });
  } catch (err) {
    io.stderr.write(errorLine(command.name, err));
    return exitCodeOf(err);
  } finally {
    client?.close();
  }
}
