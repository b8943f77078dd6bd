import type { Cluster, Redis } from "ioredis";
import { KeyPoolError } from "../../pool/index.js";
import { connectClient } from "./endpoint.js";
import type { RedisEndpoint } from "./endpoint.js";

/** What to listen to: fixed channels (one pool's shards), or one pattern (every pool's). */
export type FreedChannels = { readonly channels: readonly string[] } | { readonly pattern: string };

/** Where to listen. */
export interface SubscriptionOptions {
  /** The same Redis the commands go to (one node, a cluster, or sentinels). */
  readonly endpoint: RedisEndpoint;
  /** The pool's channels (see shardChannel), or a pattern matching many pools' (see FREED_PATTERN). */
  readonly listen: FreedChannels;
  /** The longest wait for a connection. */
  readonly connectTimeoutMs: number;
}

/**
 * Listens on freed-keys channels over a connection of its own (a subscribed connection can run no
 * other command) and calls the listeners with the channel of every message: keys may have become
 * free there. It reconnects on its own, forever, subscribes again each time, and then calls the
 * listeners once with no channel, since keys may have been freed anywhere while it was not
 * listening. Its state never affects whether the store serves: without events, waiting acquires
 * still poll. O(listeners) per message.
 */
export class FreedSubscription {
  private readonly client: Redis | Cluster;
  private readonly channels: ReadonlySet<string> | undefined;
  private readonly listeners = new Set<(channel: string | undefined) => void>();
  private readonly subscribedListeners = new Set<() => void>();
  private subscribed = false;

  constructor(private readonly options: SubscriptionOptions) {
    const { listen } = options;
    this.channels = "channels" in listen ? new Set(listen.channels) : undefined;
    // Subscribed again on each "ready" below, so a failed subscription is retried too.
    this.client = connectClient(options.endpoint, { commandTimeoutMs: options.connectTimeoutMs, subscriber: true });
    this.client.on("ready", () => this.subscribe());
    this.client.on("close", () => (this.subscribed = false));
    this.client.on("message", (channel: string) => {
      if (this.channels?.has(channel)) this.emit(channel);
    });
    this.client.on("pmessage", (_pattern: string, channel: string) => this.emit(channel));
    // Failures are retried by reconnecting; the command connection reports outages.
    this.client.on("error", () => {});
  }

  /**
   * Calls `listener` on every event with its channel (undefined after a reconnection: any
   * channel); returns the unsubscribe function. O(1).
   */
  onEvent(listener: (channel: string | undefined) => void): () => void {
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
        reject(new KeyPoolError("unavailable", `not subscribed to ${this.describe()} after ${timeoutMs} ms`));
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
    const { listen } = this.options;
    const subscribed = "channels" in listen ? this.client.subscribe(...listen.channels) : this.client.psubscribe(listen.pattern);
    subscribed.then(
      () => {
        this.subscribed = true;
        for (const done of [...this.subscribedListeners]) done();
        this.emit(undefined);
      },
      // The connection dropped meanwhile: the next "ready" subscribes again.
      () => {},
    );
  }

  private describe(): string {
    const { listen } = this.options;
    return "channels" in listen ? listen.channels.join(", ") : listen.pattern;
  }

  private emit(channel: string | undefined): void {
    for (const listener of [...this.listeners]) listener(channel);
  }
}
