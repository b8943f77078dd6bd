import { parseDuration } from "./duration.js";
import type { Flag } from "./serve-flags.js";
import type { RedisEndpoint } from "../store/redis/endpoint.js";
import { parseHostPorts } from "../store/redis/endpoint.js";
import type { ReplicaWait } from "../store/redis/replica-wait.js";
import { MAX_SHARDS } from "../store/redis/shard-keys.js";

/** How `keypool serve --store redis` reaches Redis and splits its pool. */
export interface RedisConfig {
  /** One node (`--redis-url`), a cluster (`--redis-cluster`) or sentinels (`--redis-sentinels`). */
  readonly endpoint: RedisEndpoint;
  /** `--pool-shards`. */
  readonly shards: number;
  /** `--redis-wait-replicas` (unset when 0) and `--redis-wait-timeout`. */
  readonly waitReplicas: ReplicaWait | undefined;
}

/** Most replicas a write may wait for: more than any Redis deployment runs per primary. */
const MAX_WAIT_REPLICAS = 16;

/**
 * Reads the Redis flags; throws `fail(message)` for a mistake, naming the flag. A password (and
 * user) in `--redis-url` also applies to cluster nodes and the primary found through Sentinel.
 * O(nodes).
 */
export function parseRedisConfig(get: (flag: Flag) => string, redisStore: boolean, fail: (message: string) => Error): RedisConfig {
  const [cluster, sentinels, masterName] = [get("redis-cluster"), get("redis-sentinels"), get("redis-master-name")];
  const shardsText = get("pool-shards");
  const waitText = get("redis-wait-replicas");
  if (!redisStore) {
    const used = (["redis-cluster", "redis-sentinels", "redis-master-name"] as const).find((f) => get(f) !== "");
    if (used) throw fail(`--${used} applies to --store redis only`);
    if (shardsText !== "1") throw fail("--pool-shards applies to --store redis only");
    if (waitText !== "0") throw fail("--redis-wait-replicas applies to --store redis only");
  }
  if (cluster && sentinels) throw fail("--redis-cluster and --redis-sentinels exclude each other: a Redis Cluster fails over by itself");
  if (sentinels && !masterName) throw fail("--redis-sentinels needs --redis-master-name (the name the sentinels monitor the primary under)");
  if (masterName && !sentinels) throw fail("--redis-master-name needs --redis-sentinels");
  const url = get("redis-url");
  const password = passwordOf(url);
  let endpoint: RedisEndpoint;
  try {
    endpoint = cluster
      ? { kind: "cluster", nodes: parseHostPorts(cluster, "redis-cluster"), password }
      : sentinels
        ? { kind: "sentinel", sentinels: parseHostPorts(sentinels, "redis-sentinels"), masterName, password }
        : { kind: "node", url };
  } catch (err) {
    throw fail((err as Error).message);
  }
  const shards = whole("pool-shards", shardsText, 1, MAX_SHARDS, fail);
  const replicas = whole("redis-wait-replicas", waitText, 0, MAX_WAIT_REPLICAS, fail);
  const timeoutText = get("redis-wait-timeout");
  const timeoutMs = parseDuration(timeoutText);
  if (timeoutMs === undefined || timeoutMs <= 0 || timeoutMs > 60_000) {
    throw fail(`invalid --redis-wait-timeout "${timeoutText}": expected a positive duration up to 60s, like 500ms or 2s`);
  }
  return { endpoint, shards, waitReplicas: replicas > 0 ? { replicas, timeoutMs } : undefined };
}

function whole(flag: Flag, text: string, min: number, max: number, fail: (message: string) => Error): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw fail(`invalid --${flag} "${text}": expected a whole number from ${min} to ${max}`);
  return n;
}

function passwordOf(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}
