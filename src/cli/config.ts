import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { MAX_GENERATE, POOL_NAME_RULE, isPoolName } from "../pool/rules.js";
import type { ServerLimits } from "../server/limits.js";
import { argvErrorLine, joinDashValues, shownValue } from "./argv.js";
import { formatDuration, parseDuration } from "./duration.js";
import { describeEndpoint } from "../store/redis/endpoint.js";
import { parseRedisConfig } from "./redis-config.js";
import type { RedisConfig } from "./redis-config.js";
import { SERVE_FLAGS } from "./serve-flags.js";
import type { Flag, FlagSpec } from "./serve-flags.js";

export { SERVE_FLAGS };

/** Everything `keypool serve` needs, validated. */
export interface ServeConfig {
  readonly host: string;
  readonly port: number;
  readonly blockTtlMs: number;
  /** No renewal carries a block past a lease's AcquireKey + this. */
  readonly maxLeaseMs: number;
  readonly keepaliveTtlMs: number;
  /** Each pool's capacity. */
  readonly maxKeys: number;
  /** Most pools the server holds. */
  readonly maxPools: number;
  /** Longest cooldown a release may ask for (a pool setting, like the TTLs). */
  readonly maxCooldownMs: number;
  readonly store: "memory" | "redis";
  readonly redisUrl: string;
  /** Where Redis is (node, cluster, sentinels), the pool's shards, the replicas a write waits for. */
  readonly redis: RedisConfig;
  /** The default pool's name (every store). */
  readonly pool: string;
  /** Overwrite the Redis pool's settings with this server's instead of refusing to start. */
  readonly redisUpdateSettings: boolean;
  /** Set: the embedded store keeps the pool on disk here. */
  readonly dataDir: string | undefined;
  readonly logLevel: string;
  readonly authFile: string | undefined;
  readonly allowInsecureRemote: boolean;
  readonly reflection: "open" | "authenticated" | "off";
  readonly tls: { readonly cert: string; readonly key: string; readonly clientCa: string | undefined } | undefined;
  readonly metrics: { readonly host: string; readonly port: number } | undefined;
  readonly limits: ServerLimits;
}

/** A configuration mistake, reported as one line before anything starts. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** A bad flag value; parseServeConfig names the flag, or its variable when the value came from there. */
class FlagValueError extends ConfigError {
  constructor(readonly flag: Flag, readonly text: string, readonly expected: string) {
    super(`invalid --${flag} "${text}": ${expected}`);
  }
}

/** Largest --max-keys: the key index takes 8 bytes per key of capacity up front. */
export const MAX_MAX_KEYS = 100_000_000;
/** Largest --max-pools: each pool costs a store, its metrics series and its settings. */
export const MAX_MAX_POOLS = 100_000;
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** Longest TTL or interval a flag takes: 365 days (deadlines stay exact in float64 ms and dates). */
export const MAX_DURATION_MS = 365 * 24 * 3_600_000;

function duration(flag: Flag, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0 || ms > MAX_DURATION_MS) {
    throw new FlagValueError(flag, text, "expected a positive duration like 60s, 5m or 1500ms, at most 8760h (365 days)");
  }
  return ms;
}

/** An IP address or a host name (RFC 1123 labels); resolved and bound at start. */
function host(text: string): string {
  if (isIP(text) || /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(text)) return text;
  throw new FlagValueError("host", text, "expected an IP address (0.0.0.0, ::, 127.0.0.1) or a host name");
}

function integer(flag: Flag, text: string, min: number, max: number): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new FlagValueError(flag, text, `expected a whole number from ${min} to ${max}`);
  }
  return n;
}

function oneOf<T extends string>(flag: Flag, text: string, allowed: readonly T[]): T {
  if (!allowed.includes(text as T)) throw new FlagValueError(flag, text, `expected one of ${allowed.join(", ")}`);
  return text as T;
}

function flagOn(flag: Flag, text: string): boolean {
  return ["true", "1"].includes(oneOf(flag, text, ["true", "false", "1", "0"]));
}

function readFlags(argv: readonly string[], env: NodeJS.ProcessEnv): (flag: Flag) => string {
  let values: Record<string, string | boolean | undefined>;
  try {
    const specs = Object.entries(SERVE_FLAGS as Record<string, FlagSpec>);
    const options = Object.fromEntries(specs.map(([f, spec]) => [f, { type: spec.boolean ? "boolean" as const : "string" as const }]));
    const valueFlags = new Map(specs.filter(([, spec]) => !spec.boolean).map(([f]) => [`--${f}`, f]));
    const args = joinDashValues(argv, valueFlags, new Set(specs.map(([f]) => `--${f}`)));
    values = parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ConfigError(argvErrorLine(err));
  }
  return (flag) => {
    const value = values[flag];
    if (value !== undefined) return String(value);
    return env[SERVE_FLAGS[flag].env] ?? SERVE_FLAGS[flag].default;
  };
}

function limitsOf(get: (flag: Flag) => string): ServerLimits {
  return {
    maxRequestBytes: integer("max-request-bytes", get("max-request-bytes"), 1024, 64 * 1024 * 1024),
    maxMetadataBytes: integer("max-metadata-bytes", get("max-metadata-bytes"), 1024, 1024 * 1024),
    maxGenerate: integer("max-generate", get("max-generate"), 1, MAX_GENERATE),
    maxKeepAliveKeys: integer("max-keepalive-keys", get("max-keepalive-keys"), 1, MAX_GENERATE),
    maxStreams: integer("max-streams", get("max-streams"), 1, 1_000_000),
    maxWaiters: integer("max-waiters", get("max-waiters"), 0, 1_000_000),
    maxHealthWatches: integer("max-health-watches", get("max-health-watches"), 0, 1_000_000),
    maxCallsPerConnection: integer("max-calls-per-connection", get("max-calls-per-connection"), 1, 1_000_000),
    maxConnections: integer("max-connections", get("max-connections"), 1, 1_000_000),
    maxConnectionsPerPeer: integer("max-connections-per-peer", get("max-connections-per-peer"), 1, 1_000_000),
    maxResets: integer("max-resets", get("max-resets"), 1, 1_000_000),
    pingIntervalMs: duration("http2-ping-interval", get("http2-ping-interval")),
    pingTimeoutMs: duration("http2-ping-timeout", get("http2-ping-timeout")),
    minClientPingIntervalMs: duration("http2-min-client-ping-interval", get("http2-min-client-ping-interval")),
  };
}

function tlsOf(get: (flag: Flag) => string): ServeConfig["tls"] {
  const [cert, key, clientCa] = [get("tls-cert"), get("tls-key"), get("tls-client-ca")];
  if (!cert && !key && !clientCa) return undefined;
  if (!cert || !key) throw new ConfigError("TLS needs both --tls-cert and --tls-key");
  return { cert, key, clientCa: clientCa || undefined };
}

/**
 * Reads `keypool serve` flags, falling back to KEYPOOL_* variables, then defaults; validates all
 * of it once. Throws ConfigError with a one-line message naming the flag and what it expects.
 */
export function parseServeConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ServeConfig {
  try {
    return parseFlags(argv, env);
  } catch (err) {
    // A bad value from the environment is reported under the variable's name: the flag was never typed.
    if (!(err instanceof FlagValueError) || argv.some((a) => a === `--${err.flag}` || a.startsWith(`--${err.flag}=`))) throw err;
    const variable = SERVE_FLAGS[err.flag].env;
    throw env[variable] === undefined ? err : new ConfigError(`invalid ${shownValue(variable, err.text)}: ${err.expected}`);
  }
}

function parseFlags(argv: readonly string[], env: NodeJS.ProcessEnv): ServeConfig {
  const get = readFlags(argv, env);
  const store = oneOf("store", get("store"), ["memory", "redis"] as const);
  const pool = get("pool");
  if (!isPoolName(pool)) throw new FlagValueError("pool", pool, `expected ${POOL_NAME_RULE}`);
  const dataDir = get("data-dir") || undefined;
  if (dataDir && store === "redis") throw new ConfigError("--data-dir applies to the embedded store only; drop it or use --store memory");
  const metricsPort = get("metrics-port");
  return {
    host: host(get("host")),
    port: integer("port", get("port"), 0, 65_535),
    blockTtlMs: duration("block-ttl", get("block-ttl")),
    keepaliveTtlMs: duration("keepalive-ttl", get("keepalive-ttl")),
    maxLeaseMs: duration("max-lease", get("max-lease")),
    maxKeys: integer("max-keys", get("max-keys"), 1, MAX_MAX_KEYS),
    maxPools: integer("max-pools", get("max-pools"), 1, MAX_MAX_POOLS),
    maxCooldownMs: duration("max-cooldown", get("max-cooldown")),
    store,
    redisUrl: get("redis-url"),
    redis: parseRedisConfig(get, store === "redis", (message) => new ConfigError(message)),
    pool,
    redisUpdateSettings: flagOn("redis-update-settings", get("redis-update-settings")),
    dataDir,
    logLevel: oneOf("log-level", get("log-level"), LOG_LEVELS),
    authFile: get("auth-file") || undefined,
    allowInsecureRemote: flagOn("allow-insecure-remote", get("allow-insecure-remote")),
    reflection: oneOf("reflection", get("reflection"), ["open", "authenticated", "off"] as const),
    tls: tlsOf(get),
    metrics: metricsPort ? { host: get("metrics-host") || get("host"), port: integer("metrics-port", metricsPort, 0, 65_535) } : undefined,
    limits: limitsOf(get),
  };
}

/** One line for the start-up log: where, which store, which TTLs, which security mode. */
export function describeConfig(config: ServeConfig, port: number): string {
  const store = config.store === "redis" ? `redis pool "${config.pool}"` : config.dataDir ? `durable (${config.dataDir})` : "memory";
  const access = config.authFile
    ? `bearer tokens from ${config.authFile}`
    : config.allowInsecureRemote ? "NO AUTH, remote clients allowed (--allow-insecure-remote)" : "no auth, loopback clients only";
  const transport = config.tls ? (config.tls.clientCa ? "mutual TLS" : "TLS") : "plaintext";
  return `keypool listening on ${config.host}:${port} (${transport}; ${access}), store ${store}, ` +
    `block TTL ${formatDuration(config.blockTtlMs)}, keepalive TTL ${formatDuration(config.keepaliveTtlMs)}, ` +
    `default pool "${config.pool}", max keys ${config.maxKeys} per pool, max pools ${config.maxPools}`;
}

/** A Redis URL fit for a log line: the password, if any, replaced. */
function loggableUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "redacted";
    return parsed.toString();
  } catch {
    return "(unparsable URL)";
  }
}

/**
 * The whole configuration as structured fields for the start-up log line (file paths, never
 * file contents; a Redis password never appears). O(1).
 */
export function configFields(config: ServeConfig): Record<string, unknown> {
  return {
    host: config.host,
    port: config.port,
    store: config.dataDir ? "durable" : config.store,
    ...(config.store === "redis"
      ? {
          redisUrl: loggableUrl(config.redisUrl),
          redis: describeEndpoint(config.redis.endpoint),
          poolShards: config.redis.shards,
          redisWaitReplicas: config.redis.waitReplicas,
        }
      : {}),
    dataDir: config.dataDir,
    pool: config.pool,
    blockTtlMs: config.blockTtlMs,
    keepaliveTtlMs: config.keepaliveTtlMs,
    maxKeys: config.maxKeys,
    maxPools: config.maxPools,
    maxCooldownMs: config.maxCooldownMs,
    logLevel: config.logLevel,
    authFile: config.authFile,
    allowInsecureRemote: config.allowInsecureRemote,
    reflection: config.reflection,
    tls: config.tls ? { certFile: config.tls.cert, keyFile: config.tls.key, clientCaFile: config.tls.clientCa } : undefined,
    metrics: config.metrics,
    limits: config.limits,
  };
}
