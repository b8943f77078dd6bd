import { EventEmitter } from "node:events";
import { durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../grpc/typed-client.js";
import type { ClientCallOptions, TypedClient } from "../grpc/typed-client.js";
import { redactKey } from "../pool/key-format.js";
import { leasedKey, poolKey, poolStats } from "./convert.js";
import { KeyPoolClientError } from "./errors.js";
import { assertKeys, keepAliveOnce } from "./keepalive-once.js";
import { KeepAliveKeeper } from "./keeper.js";
import { KeepAliveHold, LeaseHold } from "./key-hold.js";
import type { HoldOwner } from "./key-hold.js";
import { blockTtlOf } from "./lease-timing.js";
import { resolveOptions } from "./options.js";
import type { KeyPoolClientOptions, ResolvedOptions } from "./options.js";
import { backoffMs, withRetries } from "./retry.js";
import type { AcquireOptions, CallOptions, KeepAliveOutcome, LeasedKey, LostReason, PoolKey, PoolStats, UnfencedRelease } from "./types.js";

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
  /** When (client clock) the call that returned each leased key was sent: where its hold's deadline starts. */
  private readonly sentAt = new WeakMap<PoolKey, number>();
  private readonly holdOwner: HoldOwner;
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
    this.holdOwner = {
      drop: (k) => this.keeper.remove(k),
      now: () => this.options.scheduler.now(),
      expired: (k) => this.keeper.expire(k),
      release: (k, lease, o) => this.releaseKey(k, lease, o),
    };
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
  async acquireKey(options: AcquireOptions = {}): Promise<LeasedKey> {
    const waitMs = options.waitMs ?? 0;
    const timeoutMs = options.timeoutMs ?? waitMs + this.options.defaultTimeoutMs;
    const request = waitMs > 0 ? { wait: durationFromMs(waitMs) } : {};
    const sentAt = this.options.scheduler.now();
    const response = await this.call("AcquireKey", false, { ...options, timeoutMs }, (o) => this.stub.acquireKey(request, o));
    return this.leased(leasedKey(poolKey(response.key, "AcquireKey"), "AcquireKey"), sentAt);
  }

  /**
   * Renews the key's current lease: block = now + block TTL and life = now + keepalive TTL on
   * the server, same lease id and fencing token. FAILED_PRECONDITION when `leaseId` is not the
   * current lease (it ended) or the renewal would pass the server's `--max-lease`; NOT_FOUND for
   * a deleted or dead key. Retried: a repeat only renews again. `hold()` does this for you.
   */
  async renewLease(key: string, leaseId: string, options?: CallOptions): Promise<LeasedKey> {
    const sentAt = this.options.scheduler.now();
    const response = await this.call("RenewLease", true, options, (o) => this.stub.renewLease({ key, leaseId }, o));
    return this.leased(leasedKey(poolKey(response.key, "RenewLease"), "RenewLease"), sentAt);
  }

  /**
   * Unblocks `key` under `leaseId`: only if it is still the key's lease (FAILED_PRECONDITION
   * otherwise, the key untouched). Retried, since repeating it is harmless.
   */
  releaseKey(key: string, leaseId: string, options?: CallOptions): Promise<PoolKey>;
  /**
   * Unblocks `key` whoever holds it: `{ unfenced: true }` says so out loud, because it may free
   * a key someone else acquired after your lease ended. Never retried: a repeat could do exactly that.
   */
  releaseKey(key: string, options: UnfencedRelease): Promise<PoolKey>;
  async releaseKey(key: string, leaseOrOptions: string | UnfencedRelease, options?: CallOptions): Promise<PoolKey> {
    const fenced = typeof leaseOrOptions === "string";
    if (!fenced && leaseOrOptions?.unfenced !== true) {
      throw new KeyPoolClientError("INVALID_ARGUMENT", "ReleaseKey", "pass the lease id, or { unfenced: true } to release whoever holds the key");
    }
    const request = { key, leaseId: fenced ? leaseOrOptions : "" };
    const callOptions = fenced ? options : leaseOrOptions;
    const response = await this.call("ReleaseKey", fenced, callOptions, (o) => this.stub.releaseKey(request, o));
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
   * Holds an acquired key (the PoolKey `acquireKey` returned) until the hold is released or
   * stopped: renews its LEASE and its life over the client's ONE shared KeepAlive stream every
   * third of the block TTL, so nobody else can acquire it meanwhile. The hold aborts `signal` and
   * emits `lost` BEFORE the server could consider the lease ended, judged on this client's
   * monotonic clock from when it sent the last renewal the server confirmed (never by comparing
   * clocks); a refused renewal ends it at once (`lease-ended`, `max-lease`, `not-found`).
   * `release()` releases under the lease. Throws INVALID_ARGUMENT for a key without a lease or
   * not returned by this client (its send time starts the deadline), ALREADY_EXISTS when the key
   * is held already. O(1); each tick costs O(k) for k holds.
   */
  hold(key: LeasedKey): LeaseHold;
  /**
   * Keeps a key ALIVE (life only) by its string: no lease, so its block is never extended and
   * another worker may acquire it; the hold has no `release()`. Sends every third of the
   * keepalive TTL (learned once from GetPoolStats) and emits `lost` when the server says the key
   * is gone or no keepalive was confirmed for a whole TTL.
   */
  hold(key: string): KeepAliveHold;
  hold(key: string | LeasedKey): KeepAliveHold {
    const name = typeof key === "string" ? key : key.key;
    if (this.closed) throw new KeyPoolClientError("CANCELLED", "hold", "the client is closed");
    assertKeys([name], "hold");
    if (this.keeper.has(name)) {
      throw new KeyPoolClientError("ALREADY_EXISTS", "hold", `${redactKey(name)} is held already; stop that hold first`);
    }
    if (typeof key === "string") {
      const hold = new KeepAliveHold(name, this.holdOwner);
      this.keeper.add(hold);
      return hold;
    }
    if (key.state !== "blocked" || !key.leaseId || key.blockedUntil === undefined || key.acquiredAt === undefined) {
      throw new KeyPoolClientError("INVALID_ARGUMENT", "hold", `${redactKey(name)} carries no lease: hold a key from acquireKey, or hold the key string to keep it alive only`);
    }
    const sentAt = this.sentAt.get(key);
    if (sentAt === undefined) {
      // Without the send time of the call that returned it, nothing says when its lease may end.
      throw new KeyPoolClientError("INVALID_ARGUMENT", "hold", `hold the very object this client's acquireKey or renewLease returned for ${redactKey(name)} (not a copy); or call renewLease and hold its result`);
    }
    const hold = new LeaseHold(key, this.holdOwner);
    this.keeper.addLease(hold, sentAt, blockTtlOf(key));
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

  /** Remembers when the call that returned `key` was sent (for `hold()`), and returns it. */
  private leased(key: LeasedKey, sentAt: number): LeasedKey {
    this.sentAt.set(key, sentAt);
    return key;
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
