import { EventEmitter } from "node:events";
import { durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../grpc/typed-client.js";
import type { ClientCallOptions, TypedClient } from "../grpc/typed-client.js";
import { redactKey } from "../pool/key-format.js";
import { poolKey, poolStats } from "./convert.js";
import { KeyPoolClientError } from "./errors.js";
import { assertKeys, keepAliveOnce } from "./keepalive-once.js";
import { KeepAliveKeeper } from "./keeper.js";
import { KeyHold } from "./key-hold.js";
import { resolveOptions } from "./options.js";
import type { KeyPoolClientOptions, ResolvedOptions } from "./options.js";
import { backoffMs, withRetries } from "./retry.js";
import type { AcquireOptions, CallOptions, KeepAliveOutcome, LostReason, PoolKey, PoolStats } from "./types.js";

/** Events of a KeyPoolClient, all about the shared keepalive stream behind `hold()`. */
export interface KeyPoolClientEvents {
  /** A held key was given up (also emitted by its KeyHold). */
  lost: [key: string, reason: LostReason];
  /** The keepalive stream broke (or could not start); the client reconnects with backoff. */
  disconnected: [error: KeyPoolClientError];
  /** The keepalive stream answered its first request after (re)connecting. */
  connected: [];
}

type Attempt<T> = (callOptions: ClientCallOptions, attempt: number) => Promise<T>;

/**
 * A promise client of keypool.v1.KeyService: one method per RPC with plain objects in and out,
 * a deadline on every call, automatic retries (UNAVAILABLE only, exponential backoff with
 * jitter) of the calls that are safe to repeat, and `hold()` to keep keys alive. Never retried:
 * `generateKeys`, `acquireKey` and `releaseKey` without a lease id. Every failure rejects with a
 * KeyPoolClientError. Make one per process and share it: it holds one HTTP/2 channel.
 */
export class KeyPoolClient extends EventEmitter<KeyPoolClientEvents> {
  private readonly stub: TypedClient<typeof KeyService>;
  private readonly options: ResolvedOptions;
  private readonly keeper: KeepAliveKeeper;
  private closed = false;

  constructor(
    /** `host:port` of the server. */
    readonly address: string,
    options: KeyPoolClientOptions = {},
  ) {
    super();
    this.options = resolveOptions(options);
    this.stub = createTypedClient(KeyService, address, this.options.credentials, this.options.channelOptions);
    this.keeper = new KeepAliveKeeper({
      openStream: () => this.stub.keepAlive({ metadata: this.options.metadata() }),
      fetchTtlMs: async (key) => this.options.keepaliveTtlMs ?? (await this.learnTtl(key)),
      scheduler: this.options.scheduler,
      backoffMs: (n) => backoffMs(n, this.options.reconnect, this.options.random),
      lost: (key, reason) => this.emit("lost", key, reason),
      disconnected: (error) => this.emit("disconnected", error),
      connected: () => this.emit("connected"),
    });
  }

  /** How often `hold()` sends keepalives (a third of the keepalive TTL) once known; undefined before. */
  get holdIntervalMs(): number | undefined {
    return this.keeper.intervalMs;
  }

  /** Adds `count` new free keys (at most 1000 per call). Not retried: a retry could add twice. */
  async generateKeys(count = 1, options?: CallOptions): Promise<PoolKey[]> {
    const response = await this.call("GenerateKeys", false, options, (o) => this.stub.generateKeys({ count }, o));
    return response.keys.map((info) => poolKey(info, "GenerateKeys"));
  }

  /**
   * Leases a random free key, blocked under a fresh `leaseId`; NOT_FOUND when none is free
   * (after `waitMs`, if set). Not retried: a lost response would leave a key blocked for a block
   * TTL with nobody using it, so retry yourself only if that is acceptable.
   */
  async acquireKey(options: AcquireOptions = {}): Promise<PoolKey> {
    const waitMs = options.waitMs ?? 0;
    const timeoutMs = options.timeoutMs ?? waitMs + this.options.defaultTimeoutMs;
    const request = waitMs > 0 ? { wait: durationFromMs(waitMs) } : {};
    const response = await this.call("AcquireKey", false, { ...options, timeoutMs }, (o) => this.stub.acquireKey(request, o));
    return poolKey(response.key, "AcquireKey");
  }

  /**
   * Unblocks `key`. With `leaseId`, only if it is still the key's lease (FAILED_PRECONDITION
   * otherwise), and retried, since repeating it is harmless; without, never retried, since a
   * repeat could free a key someone else acquired in between.
   */
  async releaseKey(key: string, leaseId?: string, options?: CallOptions): Promise<PoolKey> {
    const request = { key, leaseId: leaseId ?? "" };
    const response = await this.call("ReleaseKey", leaseId !== undefined, options, (o) => this.stub.releaseKey(request, o));
    return poolKey(response.key, "ReleaseKey");
  }

  /**
   * Purges `key`; NOT_FOUND when the pool does not hold it. Retried: when a retry answers
   * NOT_FOUND, an earlier attempt may have deleted the key, so that counts as success.
   */
  async deleteKey(key: string, options?: CallOptions): Promise<void> {
    await this.call("DeleteKey", true, options, async (o, attempt) => {
      try {
        await this.stub.deleteKey({ key }, o);
      } catch (err) {
        if (attempt === 1 || (err as { code?: number }).code !== status.NOT_FOUND) throw err;
      }
    });
  }

  /** Sets one key's life to now + keepalive TTL. Retried. */
  async keepAliveKey(key: string, options?: CallOptions): Promise<PoolKey> {
    const response = await this.call("KeepAliveKey", true, options, (o) => this.stub.keepAliveKey({ key }, o));
    return poolKey(response.key, "KeepAliveKey");
  }

  /**
   * Keeps many keys alive once over one short KeepAlive stream; a key the pool does not hold
   * comes back `found: false`. Malformed keys are refused before anything is sent. Retried.
   * O(k) for k keys.
   */
  async keepAliveKeys(keys: readonly string[], options?: CallOptions): Promise<KeepAliveOutcome[]> {
    assertKeys(keys, "KeepAlive");
    if (keys.length === 0) return [];
    return this.call("KeepAlive", true, options, (o) => keepAliveOnce(this.stub.keepAlive(o), keys));
  }

  /** Describes `key` without changing it. Retried. */
  async getKey(key: string, options?: CallOptions): Promise<PoolKey> {
    const response = await this.call("GetKey", true, options, (o) => this.stub.getKey({ key }, o));
    return poolKey(response.key, "GetKey");
  }

  /** The pool's counts and TTLs. Retried. */
  async getPoolStats(options?: CallOptions): Promise<PoolStats> {
    return poolStats(await this.call("GetPoolStats", true, options, (o) => this.stub.getPoolStats({}, o)));
  }

  /**
   * Keeps `key` alive until the returned hold is stopped or released, over the client's ONE
   * shared KeepAlive stream: sends every third of the keepalive TTL (learned once from
   * GetPoolStats), reconnects with backoff, and emits `lost` when the server says the key is gone
   * or no keepalive was confirmed for a whole TTL. Pass the PoolKey from `acquireKey` so
   * `release()` uses its lease. Throws INVALID_ARGUMENT for a malformed key, ALREADY_EXISTS when
   * the key is held already. O(1); each tick costs O(k) for k held keys.
   */
  hold(key: string | PoolKey): KeyHold {
    const [name, leaseId] = typeof key === "string" ? [key, undefined] : [key.key, key.leaseId];
    if (this.closed) throw new KeyPoolClientError("CANCELLED", "hold", "the client is closed");
    assertKeys([name], "hold");
    if (this.keeper.has(name)) {
      throw new KeyPoolClientError("ALREADY_EXISTS", "hold", `${redactKey(name)} is held already; stop that hold first`);
    }
    const hold = new KeyHold(name, leaseId, {
      drop: (k) => this.keeper.remove(k),
      release: (k, lease, o) => this.releaseKey(k, lease, o),
    });
    this.keeper.add(hold);
    return hold;
  }

  /** Stops every hold (no `lost` events) and closes the channel. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.keeper.close();
    this.stub.close();
  }

  /**
   * The keepalive TTL for `hold()`: from GetPoolStats, or, for tokens that may not call it
   * (workers), from the KeepAliveKey response of a held key.
   */
  private async learnTtl(key: string): Promise<number> {
    try {
      return (await this.getPoolStats()).keepaliveTtlMs;
    } catch (err) {
      const e = err as KeyPoolClientError;
      if (e.code !== "PERMISSION_DENIED") throw e;
      const response = await this.call("KeepAliveKey", true, undefined, (o) => this.stub.keepAliveKey({ key }, o));
      if (!response.keepaliveTtl) throw new KeyPoolClientError("UNIMPLEMENTED", "KeepAliveKey", "the server does not report its keepalive TTL; pass the client option keepaliveTtlMs");
      return durationMs(response.keepaliveTtl);
    }
  }

  /** One call with a deadline spanning its attempts; retried on UNAVAILABLE when `retry`. */
  private call<T>(method: string, retry: boolean, options: CallOptions | undefined, run: Attempt<T>): Promise<T> {
    const deadline = Date.now() + (options?.timeoutMs ?? this.options.defaultTimeoutMs);
    const policy = retry ? this.options.retry : { ...this.options.retry, maxAttempts: 1 };
    const { scheduler, random } = this.options;
    const signal = options?.signal;
    return withRetries(method, { policy, scheduler, random, deadline, signal }, async (attempt) => {
      // A signal of its own per attempt, so a long-lived caller signal collects no listeners.
      const controller = new AbortController();
      const abort = (): void => controller.abort(signal?.reason);
      if (signal?.aborted) abort();
      signal?.addEventListener("abort", abort, { once: true });
      try {
        const timeoutMs = Math.max(1, deadline - Date.now());
        return await run({ timeoutMs, metadata: this.options.metadata(), signal: controller.signal }, attempt);
      } finally {
        signal?.removeEventListener("abort", abort);
      }
    });
  }
}

/**
 * Makes a KeyPoolClient for the server at `address` (`host:port`). Connects lazily, on the
 * first call. See KeyPoolClientOptions for the token, TLS, deadlines and retries.
 */
export function createKeyPoolClient(address: string, options: KeyPoolClientOptions = {}): KeyPoolClient {
  return new KeyPoolClient(address, options);
}
