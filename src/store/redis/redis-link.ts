import { RedisConnection } from "./connection.js";
import type { RedisEndpoint } from "./endpoint.js";
import { FreedSubscription } from "./freed-subscription.js";
import type { FreedChannels } from "./freed-subscription.js";

/**
 * The two connections a server needs, shared by all its pools and their shards: one for commands
 * (a node, a Sentinel-followed primary, or a Cluster client that routes each shard's scripts to
 * its slot's master) and one subscribed to the freed-keys channels (one pool's shards, or every
 * pool's by pattern). O(1) to open; connecting is asynchronous (see `ready`).
 */
export class RedisLink {
  readonly connection: RedisConnection;
  readonly subscription: FreedSubscription;

  constructor(endpoint: RedisEndpoint, commandTimeoutMs: number, listen: FreedChannels) {
    this.connection = new RedisConnection({ endpoint, commandTimeoutMs });
    this.subscription = new FreedSubscription({ endpoint, listen, connectTimeoutMs: commandTimeoutMs });
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
