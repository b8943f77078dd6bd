import { KeyPoolClientError } from "../client/errors.js";
import type { StatusName } from "../client/errors.js";
import type { KeepAliveOutcome, PoolKey, PoolStats } from "../client/types.js";
import { formatDuration } from "./duration.js";

/** Where a command writes: process.stdout/stderr, or a buffer in tests. */
export interface Sink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** Exit codes of the client commands; `keypool --help` lists them. */
export const EXIT = { ok: 0, other: 1, usage: 2, notFound: 3, conflict: 4, unavailable: 5 } as const;

/** The exit code of each status a call can end with; anything else exits 1. */
const EXIT_OF: Partial<Record<StatusName, number>> = {
  INVALID_ARGUMENT: EXIT.usage,
  OUT_OF_RANGE: EXIT.usage,
  NOT_FOUND: EXIT.notFound,
  FAILED_PRECONDITION: EXIT.conflict,
  ALREADY_EXISTS: EXIT.conflict,
  ABORTED: EXIT.conflict,
  RESOURCE_EXHAUSTED: EXIT.conflict,
  UNAVAILABLE: EXIT.unavailable,
  DEADLINE_EXCEEDED: EXIT.unavailable,
};

/** A mistake on the command line: exit 2 with a one-line message. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The exit code for an error thrown by a command. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof KeyPoolClientError) return EXIT_OF[err.code] ?? EXIT.other;
  return EXIT.other;
}

/** Writes `value` as one JSON document. */
export function writeJson(out: Sink, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A timestamp (epoch ms) as ISO 8601 UTC, or undefined. */
export function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** A key for --json: timestamps as ISO 8601 strings, absent fields as null. */
export function keyJson(k: PoolKey): Record<string, string | number | null> {
  return {
    key: k.key,
    pool: k.pool,
    state: k.state,
    leaseId: k.leaseId ?? null,
    blockedUntil: iso(k.blockedUntil) ?? null,
    expiresAt: iso(k.expiresAt)!,
    createdAt: iso(k.createdAt)!,
    fencingToken: k.fencingToken,
    acquiredAt: iso(k.acquiredAt) ?? null,
    cooldownUntil: iso(k.cooldownUntil) ?? null,
  };
}

/** What `keyJson` prints, for the commands' --help. */
export const KEY_JSON_SHAPE =
  '{"key", "pool", "state", "leaseId", "blockedUntil", "expiresAt", "createdAt", "fencingToken", "acquiredAt", "cooldownUntil"} ' +
  "(timestamps in ISO 8601)";

/**
 * Prints `{"keys": [...]}` one batch at a time, as calls return, so that a command failing
 * part-way still leaves one valid JSON document of the keys it got. O(keys) per batch.
 */
export function keyJsonStream(out: Sink): { batch(keys: readonly PoolKey[]): void; end(): void } {
  let printed = 0;
  out.write('{"keys": [\n');
  return {
    batch: (keys) => {
      if (keys.length === 0) return;
      out.write(`${printed ? ",\n" : ""}${keys.map((k) => `  ${JSON.stringify(keyJson(k))}`).join(",\n")}`);
      printed += keys.length;
    },
    end: () => void out.write(`${printed ? "\n" : ""}]}\n`),
  };
}

/** Prints one key: one JSON document under --json, else a one-row table. */
export function writeKey(out: Sink, json: boolean, key: PoolKey): void {
  if (json) writeJson(out, keyJson(key));
  else out.write(keyTable([key]));
}

/** A keepalive outcome for --json. */
export function outcomeJson(o: KeepAliveOutcome): Record<string, string | boolean | null> {
  return { key: o.key, found: o.found, expiresAt: iso(o.expiresAt) ?? null };
}

/** Stats for --json: counts and TTLs in milliseconds. */
export function statsJson(s: PoolStats): Record<string, number> {
  return { ...s };
}

/** Rows under a header, columns padded to their widest cell. O(cells). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

/** The human table of keys: one row each. */
export function keyTable(keys: readonly PoolKey[]): string {
  return table(
    ["KEY", "STATE", "LEASE ID", "BLOCKED UNTIL", "COOLDOWN UNTIL", "EXPIRES AT"],
    keys.map((k) => [k.key, k.state, k.leaseId ?? "-", iso(k.blockedUntil) ?? "-", iso(k.cooldownUntil) ?? "-", iso(k.expiresAt)!]),
  );
}

/** The human table of keepalive outcomes. */
export function outcomeTable(outcomes: readonly KeepAliveOutcome[]): string {
  return table(["KEY", "FOUND", "EXPIRES AT"], outcomes.map((o) => [o.key, o.found ? "yes" : "no", iso(o.expiresAt) ?? "-"]));
}

/** The human view of stats: one field per line. */
export function statsTable(s: PoolStats): string {
  return table(["FIELD", "VALUE"], [
    ["total", String(s.total)],
    ["free", String(s.free)],
    ["blocked", String(s.blocked)],
    ["cooling", String(s.cooling)],
    ["max keys", String(s.maxKeys)],
    ["block TTL", formatDuration(s.blockTtlMs)],
    ["keepalive TTL", formatDuration(s.keepaliveTtlMs)],
    ["max cooldown", formatDuration(s.maxCooldownMs)],
  ]);
}

/**
 * A progress bar on a terminal (`\r`-redrawn, then a newline); nothing when `out` is not a
 * terminal, so logs and pipes stay clean.
 */
export class ProgressBar {
  private readonly width = 30;

  constructor(
    private readonly out: Sink,
    private readonly total: number,
    private readonly label: string,
  ) {}

  /** Redraws the bar at `done` of `total`. O(width). */
  update(done: number): void {
    if (!this.out.isTTY) return;
    const filled = Math.round((done / this.total) * this.width);
    this.out.write(`\r[${"#".repeat(filled)}${".".repeat(this.width - filled)}] ${done}/${this.total} ${this.label}`);
  }

  /** Ends the bar's line. */
  finish(): void {
    if (this.out.isTTY) this.out.write("\n");
  }
}
