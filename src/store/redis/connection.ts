import type { Cluster, Redis } from "ioredis";
import { KeyPoolError } from "../../pool/index.js";
import { connectClient, describeEndpoint } from "./endpoint.js";
import type { RedisEndpoint } from "./endpoint.js";

/** Reply errors that mean "this Redis cannot serve right now", not "keypool has a bug". */
const TRANSIENT_REPLY = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|OOM|NOREPLICAS|MISCONF)\b/;
/** ioredis's words when a call meets a socket that just closed: said plainly in messages. */
const SOCKET_GONE = /^(Stream isn't writeable|Connection is closed)/;

/** How to reach Redis. */
export interface ConnectionOptions {
  /** One node, a cluster or sentinels (see RedisEndpoint). */
  readonly endpoint: RedisEndpoint;
  /** The longest wait for a reply or a connection before a call fails UNAVAILABLE. */
  readonly commandTimeoutMs: number;
}

/**
 * One ioredis connection that never queues and never hangs: while Redis is unreachable every call
 * fails at once (no offline queue), calls in flight when the connection drops fail at once (never
 * resent: a script may have run), and a call with no reply within the timeout fails, a Cluster's
 * redirections included. The timeout is judged only after the replies that already reached the
 * socket are read, so an event loop that stalls past it (a long task, a starved CPU) does not
 * turn answered calls into failures (an acquire told UNAVAILABLE after Redis blocked its key
 * would leave the key held by nobody for a block TTL). It reconnects on its own, forever, and
 * tracks whether it can serve.
 */
export class RedisConnection {
  /** A single-node (or Sentinel-followed) client, or a Redis Cluster client. */
  readonly client: Redis | Cluster;
  /** Where Redis is, for messages: `host:port`, the cluster's seeds or the sentinels. Never a password. */
  readonly address: string;
  private serving = false;
  private closed = false;
  private lastError: Error | undefined;
  private readonly listeners = new Set<(serving: boolean) => void>();
  /** The longest one `run` may take, redirections and retries included (see `run`). */
  private readonly deadlineMs: number;

  constructor(options: ConnectionOptions) {
    this.deadlineMs = options.commandTimeoutMs;
    this.client = connectClient(options.endpoint, { commandTimeoutMs: options.commandTimeoutMs });
    this.address = describeEndpoint(options.endpoint);
    this.client.on("ready", () => {
      this.lastError = undefined;
      this.setServing(true);
    });
    this.client.on("close", () => this.setServing(false));
    // Without a listener ioredis prints every failed reconnection; the latest one is kept for messages.
    this.client.on("error", (err: Error) => (this.lastError = err));
  }

  /** Whether the connection is up and Redis answered lately. O(1). */
  isServing(): boolean {
    return this.serving;
  }

  /** Calls `listener` on every change of `isServing()`; returns the unsubscribe function. O(1). */
  onServingChange(listener: (serving: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once serving; rejects UNAVAILABLE after `timeoutMs`. O(1). */
  ready(timeoutMs: number): Promise<void> {
    if (this.serving) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(this.unavailable(new Error(`not connected after ${timeoutMs} ms`)));
      }, timeoutMs);
      const off = this.onServingChange((serving) => {
        if (!serving) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  /**
   * Runs one Redis call: its result, or its failure as a KeyPoolError("unavailable") when Redis
   * cannot serve; any other error (a bug) is rethrown scrubbed of its command arguments. O(1).
   */
  async run<T>(call: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let turn: NodeJS.Immediate | undefined;
    // One deadline for the whole call, a Cluster client's re-sends after MOVED, TRYAGAIN or
    // CLUSTERDOWN included. It is judged one I/O turn late: timers run before the event loop reads
    // sockets, so after a stall the reply may already be waiting; setImmediate runs after that
    // read, and a call answered meanwhile has settled the race by then.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        turn = setImmediate(() => reject(new Error(`no answer within ${this.deadlineMs} ms`)));
      }, this.deadlineMs);
      timer.unref();
    });
    try {
      const result = await Promise.race([call(), deadline]);
      if (this.client.status === "ready") this.setServing(true);
      return result;
    } catch (err) {
      throw this.translate(scrub(err));
    } finally {
      clearTimeout(timer);
      if (turn !== undefined) clearImmediate(turn);
    }
  }

  /** Quits (or drops) the connection and stops reconnecting. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.client.status === "ready") await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
    this.setServing(false);
    this.listeners.clear();
  }

  private translate(err: Error): Error {
    if (err instanceof KeyPoolError) return err;
    if (err.name === "ReplyError") {
      if (!TRANSIENT_REPLY.test(err.message)) return err;
      const what = err.message.split("\n", 1)[0];
      return new KeyPoolError("unavailable", `redis at ${this.address} cannot serve now: ${what}`, { cause: err });
    }
    // A timeout on a live connection: Redis is hung or overloaded. Serving again on the next success.
    if (this.client.status === "ready") this.setServing(false);
    return this.unavailable(err);
  }

  private unavailable(err: Error): KeyPoolError {
    const connected = this.client.status === "ready";
    const said = SOCKET_GONE.test(err.message) ? "the connection was lost" : err.message;
    const reason = connected ? said : (this.lastError?.message ?? `not connected (${this.client.status})`);
    return new KeyPoolError("unavailable", `redis is unreachable at ${this.address}: ${reason}`, { cause: err });
  }

  private setServing(serving: boolean): void {
    if (this.serving === serving || (serving && this.closed)) return;
    this.serving = serving;
    for (const listener of [...this.listeners]) listener(serving);
  }
}

/** ioredis attaches the command and its arguments (keys, lease ids: secrets) to errors: drop them. */
function scrub(err: unknown): Error {
  const error = err instanceof Error ? err : new Error(String(err));
  delete (error as { command?: unknown }).command;
  return error;
}
