import type { Cluster, Redis } from "ioredis";
import { KeyPoolError } from "../../pool/index.js";
import { connectClient } from "./endpoint.js";
import type { RedisEndpoint } from "./endpoint.js";

/** Where to listen. */
export interface SubscriptionOptions {
  /** The same Redis the commands go to (one node, a cluster, or sentinels). */
  readonly endpoint: RedisEndpoint;
  /** The pool's channels (see poolChannel): one per shard. */
  readonly channels: readonly string[];
  /** The longest wait for a connection. */
  readonly connectTimeoutMs: number;
}

/**
 * Listens on a pool's channels (one per shard) over a connection of its own (a subscribed connection can run no
 * other command) and calls the listeners on every message: keys may have become free somewhere.
 * It reconnects on its own, forever, subscribes again each time, and then calls the listeners once,
 * since keys may have been freed while it was not listening. Its state never affects whether the
 * store serves: without events, waiting acquires still poll. O(listeners) per message.
 */
export class FreedSubscription {
  private readonly client: Redis | Cluster;
  private readonly channels: ReadonlySet<string>;
  private readonly listeners = new Set<() => void>();
  private readonly subscribedListeners = new Set<() => void>();
  private subscribed = false;

  constructor(private readonly options: SubscriptionOptions) {
    this.channels = new Set(options.channels);
    // Subscribed again on each "ready" below, so a failed subscription is retried too.
    this.client = connectClient(options.endpoint, { commandTimeoutMs: options.connectTimeoutMs, subscriber: true });
    this.client.on("ready", () => this.subscribe());
    this.client.on("close", () => (this.subscribed = false));
    this.client.on("message", (channel: string) => {
      if (this.channels.has(channel)) this.emit();
    });
    // Failures are retried by reconnecting; the command connection reports outages.
    this.client.on("error", () => {});
  }

  /** Calls `listener` on every event; returns the unsubscribe function. O(1). */
  onEvent(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once subscribed; rejects UNAVAILABLE after `timeoutMs`. O(1). */
  ready(timeoutMs: number): Promise<void> {
    if (this.subscribed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.subscribedListeners.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.subscribedListeners.delete(done);
        reject(new KeyPoolError("unavailable", `not subscribed to ${this.options.channels.join(", ")} after ${timeoutMs} ms`));
      }, timeoutMs);
      this.subscribedListeners.add(done);
    });
  }

  /** Drops the connection and stops reconnecting. Idempotent. */
  close(): void {
    this.listeners.clear();
    this.client.disconnect();
  }

  private subscribe(): void {
    this.client.subscribe(...this.options.channels).then(
      () => {
        this.subscribed = true;
        for (const done of [...this.subscribedListeners]) done();
        this.emit();
      },
      // The connection dropped meanwhile: the next "ready" subscribes again.
      () => {},
    );
  }

  private emit(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
