import { parseArgs } from "node:util";
import { formatDuration, parseDuration } from "./duration.js";

/** Everything `keypool serve` needs, validated. */
export interface ServeConfig {
  readonly host: string;
  readonly port: number;
  readonly blockTtlMs: number;
  readonly keepaliveTtlMs: number;
  readonly maxKeys: number;
  readonly store: "memory" | "redis";
  readonly redisUrl: string;
  readonly pool: string;
  /** Set: the embedded store keeps the pool on disk here. */
  readonly dataDir: string | undefined;
  readonly logLevel: string;
}

/** A configuration mistake, reported as one line before anything starts. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Each flag, its environment twin, its default and its help line. */
export const SERVE_FLAGS = {
  host: { env: "KEYPOOL_HOST", default: "0.0.0.0", help: "address to listen on" },
  port: { env: "KEYPOOL_PORT", default: "50051", help: "port to listen on (0 picks a free one)" },
  "block-ttl": { env: "KEYPOOL_BLOCK_TTL", default: "60s", help: "how long an acquired key stays blocked" },
  "keepalive-ttl": { env: "KEYPOOL_KEEPALIVE_TTL", default: "5m", help: "how long a key lives without a keepalive" },
  "max-keys": { env: "KEYPOOL_MAX_KEYS", default: "1000000", help: "the pool's capacity" },
  store: { env: "KEYPOOL_STORE", default: "memory", help: "memory (embedded; durable with --data-dir) or redis" },
  "redis-url": { env: "KEYPOOL_REDIS_URL", default: "redis://127.0.0.1:6379/0", help: "Redis to share a pool through" },
  pool: { env: "KEYPOOL_POOL", default: "default", help: "pool name within Redis" },
  "data-dir": { env: "KEYPOOL_DATA_DIR", default: "", help: "keep the embedded pool on disk in this folder" },
  "log-level": { env: "KEYPOOL_LOG_LEVEL", default: "info", help: "fatal, error, warn, info, debug or trace" },
} as const;

type Flag = keyof typeof SERVE_FLAGS;

/** Largest --max-keys: the key index takes 8 bytes per key of capacity up front. */
export const MAX_MAX_KEYS = 100_000_000;
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

function duration(flag: Flag, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new ConfigError(`invalid --${flag} "${text}": expected a positive duration like 60s, 5m or 1500ms`);
  }
  return ms;
}

function integer(flag: Flag, text: string, min: number, max: number): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`invalid --${flag} "${text}": expected a whole number from ${min} to ${max}`);
  }
  return n;
}

/**
 * Reads `keypool serve` flags, falling back to KEYPOOL_* variables, then defaults; validates all
 * of it once. Throws ConfigError with a one-line message naming the flag and what it expects.
 */
export function parseServeConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ServeConfig {
  let values: Record<string, string | undefined>;
  try {
    const options = Object.fromEntries(Object.keys(SERVE_FLAGS).map((f) => [f, { type: "string" as const }]));
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Record<string, string>;
  } catch (err) {
    throw new ConfigError((err as Error).message.split("\n")[0]!);
  }
  const get = (flag: Flag): string => values[flag] ?? env[SERVE_FLAGS[flag].env] ?? SERVE_FLAGS[flag].default;
  const store = get("store");
  if (store !== "memory" && store !== "redis") throw new ConfigError(`invalid --store "${store}": expected memory or redis`);
  const logLevel = get("log-level");
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`invalid --log-level "${logLevel}": expected one of ${LOG_LEVELS.join(", ")}`);
  const pool = get("pool");
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(pool)) throw new ConfigError(`invalid --pool "${pool}": expected 1-64 characters of [A-Za-z0-9_.-]`);
  const dataDir = get("data-dir") || undefined;
  if (dataDir && store === "redis") throw new ConfigError("--data-dir applies to the embedded store only; drop it or use --store memory");
  return {
    host: get("host"),
    port: integer("port", get("port"), 0, 65_535),
    blockTtlMs: duration("block-ttl", get("block-ttl")),
    keepaliveTtlMs: duration("keepalive-ttl", get("keepalive-ttl")),
    maxKeys: integer("max-keys", get("max-keys"), 1, MAX_MAX_KEYS),
    store,
    redisUrl: get("redis-url"),
    pool,
    dataDir,
    logLevel,
  };
}

/** One line for the start-up log: where, which store, which TTLs. */
export function describeConfig(config: ServeConfig, port: number): string {
  const store = config.store === "redis" ? `redis pool "${config.pool}"` : config.dataDir ? `durable (${config.dataDir})` : "memory";
  return `keypool listening on ${config.host}:${port}, store ${store}, block TTL ${formatDuration(config.blockTtlMs)}, ` +
    `keepalive TTL ${formatDuration(config.keepaliveTtlMs)}, max keys ${config.maxKeys}`;
}
