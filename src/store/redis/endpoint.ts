import { Cluster, Redis } from "ioredis";
import type { RedisOptions } from "ioredis";

/** One `host:port`. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Where a pool's Redis is: one node by URL, a Redis Cluster by some of its nodes (the client
 * learns the rest, follows MOVED/ASK and re-reads the slot map after a failover), or a primary
 * found through Sentinel (the client asks the sentinels again after every disconnection, so it
 * follows a failover without a proxy).
 */
export type RedisEndpoint =
  | { readonly kind: "node"; readonly url: string }
  | { readonly kind: "cluster"; readonly nodes: readonly HostPort[]; readonly password?: string }
  | { readonly kind: "sentinel"; readonly sentinels: readonly HostPort[]; readonly masterName: string; readonly password?: string };

/** The longest pause between two reconnection attempts: Redis back means serving within it. */
const MAX_RECONNECT_DELAY_MS = 1_000;

/** ioredis settings every keypool connection shares: never queue, never resend, reconnect forever. */
export interface ClientTuning {
  /**
   * The longest wait for a connection. Replies are timed by RedisConnection.run, not by ioredis:
   * ioredis's own timer would fire before a reply already in the socket is read (see run).
   */
  readonly commandTimeoutMs: number;
  /** For a subscriber: ioredis must not resubscribe by itself (FreedSubscription does it). */
  readonly subscriber?: boolean;
}

/**
 * Parses `host:port,host:port,...` (the `--redis-cluster` and `--redis-sentinels` form); throws
 * a RangeError naming the bad entry. O(entries).
 */
export function parseHostPorts(text: string, flag: string): HostPort[] {
  const entries = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (entries.length === 0) throw new RangeError(`--${flag} needs at least one host:port`);
  return entries.map((entry) => {
    const match = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535) {
      throw new RangeError(`invalid --${flag} entry "${entry}": expected host:port, e.g. 10.0.0.5:6379`);
    }
    return { host: match[1]!.replace(/^\[|\]$/g, ""), port };
  });
}

/** Where the endpoint is, for messages: addresses only, never a password. O(nodes). */
export function describeEndpoint(endpoint: RedisEndpoint): string {
  switch (endpoint.kind) {
    case "node": {
      const url = URL.canParse(endpoint.url) ? new URL(endpoint.url) : undefined;
      return url?.hostname ? `${url.hostname}:${url.port || 6379}` : "the Redis of --redis-url";
    }
    case "cluster":
      return `cluster ${endpoint.nodes.map((n) => `${n.host}:${n.port}`).join(",")}`;
    case "sentinel":
      return `primary "${endpoint.masterName}" via sentinels ${endpoint.sentinels.map((n) => `${n.host}:${n.port}`).join(",")}`;
  }
}

/**
 * A new ioredis client for `endpoint`: no offline queue, no retries, no resend of a command in
 * flight when a connection drops (a script may have run), reconnection forever with a bounded
 * pause. A cluster client refreshes its slot map on MOVED and after a node fails. O(1).
 */
export function connectClient(endpoint: RedisEndpoint, tuning: ClientTuning): Redis | Cluster {
  const common: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: tuning.commandTimeoutMs,
    ...(tuning.subscriber ? { autoResubscribe: false } : {}),
  };
  const retryStrategy = (attempt: number): number => Math.min(50 * attempt, MAX_RECONNECT_DELAY_MS);
  switch (endpoint.kind) {
    case "node":
      // A failover behind the same address: drop the connection to the old primary, never resend.
      return new Redis(endpoint.url, { ...common, retryStrategy, reconnectOnError: (err) => err.message.startsWith("READONLY") });
    case "cluster":
      return new Cluster([...endpoint.nodes], {
        enableOfflineQueue: false,
        clusterRetryStrategy: retryStrategy,
        // A slot map re-read at most this often; MOVED and a failed node trigger one.
        slotsRefreshInterval: 2_000,
        retryDelayOnFailover: 100,
        retryDelayOnTryAgain: 100,
        redisOptions: { ...common, password: endpoint.password },
      });
    case "sentinel":
      return new Redis({
        ...common,
        sentinels: [...endpoint.sentinels],
        name: endpoint.masterName,
        password: endpoint.password,
        retryStrategy,
        sentinelRetryStrategy: retryStrategy,
        // A primary demoted under us answers READONLY: reconnect, which asks the sentinels again.
        reconnectOnError: (err) => err.message.startsWith("READONLY"),
      });
  }
}
