import { Redis } from "ioredis";
import { KeyPoolError } from "../../pool/index.js";

/** The longest pause between two reconnection attempts, as for the command connection. */
const MAX_RECONNECT_DELAY_MS = 1_000;

/** Where to listen. */
export interface SubscriptionOptions {
  /** `redis://[user:password@]host:port[/db]`, the same Redis the commands go to. */
  readonly url: string;
  /** The pool's channel (see poolChannel). */
  readonly channel: string;
  /** The longest wait for a connection. */
  readonly connectTimeoutMs: number;
}

/**
 * Listens on a pool's channel over a connection of its own (a subscribed connection can run no
 * other command) and calls the listeners on every message: keys may have become free somewhere.
 * It reconnects on its own, forever, subscribes again each time, and then calls the listeners once,
 * since keys may have been freed while it was not listening. Its state never affects whether the
 * store serves: without events, waiting acquires still poll. O(listeners) per message.
 */
export class FreedSubscription {
  private readonly client: Redis;
  private readonly listeners = new Set<() => void>();
  private readonly subscribedListeners = new Set<() => void>();
  private subscribed = false;

  constructor(private readonly options: SubscriptionOptions) {
    this.client = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // Subscribed again on each "ready" below, so a failed subscription is retried too.
      autoResubscribe: false,
      connectTimeout: options.connectTimeoutMs,
      retryStrategy: (attempt) => Math.min(50 * attempt, MAX_RECONNECT_DELAY_MS),
    });
    this.client.on("ready", () => this.subscribe());
    this.client.on("close", () => (this.subscribed = false));
    this.client.on("message", (channel: string) => {
      if (channel === options.channel) this.emit();
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
        reject(new KeyPoolError("unavailable", `not subscribed to ${this.options.channel} after ${timeoutMs} ms`));
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
    this.client.subscribe(this.options.channel).then(
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
