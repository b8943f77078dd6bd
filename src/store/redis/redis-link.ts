import { RedisConnection } from "./connection.js";
import type { RedisEndpoint } from "./endpoint.js";
import { FreedSubscription } from "./freed-subscription.js";

/**
 * The two connections a pool needs, shared by all its shards: one for commands (a node, a
 * Sentinel-followed primary, or a Cluster client that routes each shard's scripts to its slot's
 * master) and one subscribed to every shard's freed-keys channel. O(1) to open; connecting is
 * asynchronous (see `ready`).
 */
export class RedisLink {
  readonly connection: RedisConnection;
  readonly subscription: FreedSubscription;

  constructor(endpoint: RedisEndpoint, commandTimeoutMs: number, channels: readonly string[]) {
    this.connection = new RedisConnection({ endpoint, commandTimeoutMs });
    this.subscription = new FreedSubscription({ endpoint, channels, connectTimeoutMs: commandTimeoutMs });
  }

  /** Resolves once connected and subscribed; rejects UNAVAILABLE after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<void> {
    await Promise.all([this.connection.ready(timeoutMs), this.subscription.ready(timeoutMs)]);
  }

  /** Closes both connections. Idempotent. */
  async close(): Promise<void> {
    this.subscription.close();
    await this.connection.close();
  }
}
