import { EventEmitter } from "node:events";
import { durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../grpc/typed-client.js";
import type { TypedClient } from "../grpc/typed-client.js";
import { callRunner } from "./call-runner.js";
import type { CallRunner } from "./call-runner.js";
import { leasedKey, poolKey, poolStats, WIRE_STATE } from "./convert.js";
import { KeyPoolClientError } from "./errors.js";
import { ClientHolds } from "./holds.js";
import { assertKeys, assertPool, keepAliveOnce } from "./keepalive-once.js";
import type { KeepAliveHold, LeaseHold } from "./key-hold.js";
import { listPages } from "./key-listing.js";
import { keyTarget } from "./key-ref.js";
import { resolveOptions } from "./options.js";
import type { KeyPoolClientOptions, ResolvedOptions } from "./options.js";
import { backoffMs } from "./retry.js";
import type {
  AcquireOptions, KeepAliveOutcome, KeyRef, LeasedKey, ListOptions, LostReason, PoolCallOptions, PoolKey, PoolStats, ReleaseOptions, UnfencedRelease,
} from "./types.js";

/** Events of a KeyPoolClient, all about the shared keepalive stream behind `hold()`. */
export interface KeyPoolClientEvents {
  /** A held key (of `pool`, as the hold was given it) was given up (also emitted by its KeyHold). */
  lost: [key: string, reason: LostReason, pool: string];
  /** The keepalive stream broke (or could not start); the client reconnects with backoff. */
  disconnected: [error: KeyPoolClientError];
  /** The keepalive stream answered its first request after (re)connecting. */
  connected: [];
}

/**
 * A promise client of keypool.v1.KeyService: one method per RPC with plain objects in and out,
 * a deadline on every call, automatic retries (UNAVAILABLE only, exponential backoff with
 * jitter) of the calls that are safe to repeat, and `hold()` to keep keys alive. Never retried:
 * `generateKeys`, `importKeys`, `acquireKey` and `releaseKey` without a lease id. Every failure
 * rejects with a KeyPoolClientError. Every call works in one pool: the `pool` option, or the pool
 * a PoolKey passed to it carries; without either, the server's default pool. Make one per
 * process and share it: it holds one HTTP/2 channel.
 */
export class KeyPoolClient extends EventEmitter<KeyPoolClientEvents> {
  private readonly stub: TypedClient<typeof KeyService>;
  private readonly options: ResolvedOptions;
  private readonly holds: ClientHolds;
  private readonly call: CallRunner;
  private closed = false;

  constructor(
    /** `host:port` of the server. */
    readonly address: string,
    options: KeyPoolClientOptions = {},
  ) {
    super();
    this.options = resolveOptions(options);
    this.call = callRunner(this.options);
    this.stub = createTypedClient(KeyService, address, this.options.credentials, this.options.channelOptions);
    this.holds = new ClientHolds({
      openStream: () => this.stub.keepAlive({ metadata: this.options.metadata() }),
      fetchTtlMs: async (hold) => this.options.keepaliveTtlMs ?? (await this.learnTtl(hold)),
      scheduler: this.options.scheduler,
      backoffMs: (n) => backoffMs(n, this.options.reconnect, this.options.random),
      lost: (hold, reason) => this.emit("lost", hold.key, reason, hold.pool),
      disconnected: (error) => this.emit("disconnected", error),
      connected: () => this.emit("connected"),
      release: (hold, o) => this.releaseKey(hold.key, hold.leaseId, { ...o, pool: hold.pool }),
    });
  }

  /** How often `hold()` sends keepalives (a third of the keepalive TTL) once known; undefined before. */
  get holdIntervalMs(): number | undefined {
    return this.holds.intervalMs;
  }

  /** Adds `count` new free keys to the pool (at most 1000 per call). Not retried: a retry could add twice. */
  async generateKeys(count = 1, options?: PoolCallOptions): Promise<PoolKey[]> {
    const request = { count, pool: options?.pool ?? "" };
    const response = await this.call("GenerateKeys", false, options, (o) => this.stub.generateKeys(request, o));
    return response.keys.map((info) => poolKey(info, "GenerateKeys"));
  }

  /**
   * Adds existing secrets (API keys someone else issued) to the pool as free keys, all or none,
   * and returns them in order. Each is 8 to 512 bytes of printable ASCII without spaces, at most
   * 1000 per call: INVALID_ARGUMENT (naming the index, `keys[3]`) otherwise, ALREADY_EXISTS for
   * a key the pool holds or the call repeats. Admin tokens only. Not retried: after a lost
   * answer a repeat would answer ALREADY_EXISTS although the keys are in; look with `getKey`.
   */
  async importKeys(keys: readonly string[], options?: PoolCallOptions): Promise<PoolKey[]> {
    const request = { keys: [...keys], pool: options?.pool ?? "" };
    const response = await this.call("ImportKeys", false, options, (o) => this.stub.importKeys(request, o));
    return response.keys.map((info) => poolKey(info, "ImportKeys"));
  }

  /**
   * Lists the pool's keys (optionally of one `state`) page by page: `for await (const page of
   * client.listKeys({ pool }))`. Follows the server's page tokens to the end, skipping pages
   * that came back empty (a state filter may return some), and asks for each page only when the
   * loop wants it: breaking out stops the listing. A full listing holds every key that was in
   * the pool the whole time exactly once; keys added or removed meanwhile may or may not appear.
   * Each page is one call, retried, with its own `timeoutMs`. Admin tokens only. O(pageSize)
   * per page on the server.
   */
  listKeys(options: ListOptions = {}): AsyncGenerator<PoolKey[], void, undefined> {
    const base = {
      pool: options.pool ?? "",
      state: options.state === undefined ? undefined : WIRE_STATE[options.state],
      pageSize: options.pageSize ?? 0,
    };
    return listPages((pageToken) =>
      this.call("ListKeys", true, options, (o) => this.stub.listKeys({ ...base, pageToken }, o)));
  }

  /**
   * Leases a random free key of the pool, blocked under a fresh `leaseId`; NOT_FOUND when none
   * is free (after `waitMs`, if set: waiters wait per pool). The key carries its pool, so
   * `hold`, `renewLease` and `releaseKey` given it need not be told. Not retried: a lost
   * response would leave a key blocked for a block TTL with nobody using it, so retry yourself
   * only if that is acceptable.
   */
  async acquireKey(options: AcquireOptions = {}): Promise<LeasedKey> {
    const waitMs = options.waitMs ?? 0;
    const timeoutMs = options.timeoutMs ?? waitMs + this.options.defaultTimeoutMs;
    const request = { pool: options.pool ?? "", ...(waitMs > 0 ? { wait: durationFromMs(waitMs) } : {}) };
    const sentAt = this.options.scheduler.now();
    const response = await this.call("AcquireKey", false, { ...options, timeoutMs }, (o) => this.stub.acquireKey(request, o));
    return this.holds.leased(leasedKey(poolKey(response.key, "AcquireKey"), "AcquireKey"), sentAt);
  }

  /**
   * Renews the key's current lease: block = now + block TTL and life = now + keepalive TTL on
   * the server, same lease id and fencing token. FAILED_PRECONDITION when `leaseId` is not the
   * current lease (it ended) or the renewal would pass the server's `--max-lease`; NOT_FOUND for
   * a deleted or dead key. Retried: a repeat only renews again. `hold()` does this for you.
   */
  async renewLease(key: KeyRef, leaseId: string, options?: PoolCallOptions): Promise<LeasedKey> {
    const request = { ...keyTarget(key, options, "RenewLease"), leaseId };
    const sentAt = this.options.scheduler.now();
    const response = await this.call("RenewLease", true, options, (o) => this.stub.renewLease(request, o));
    return this.holds.leased(leasedKey(poolKey(response.key, "RenewLease"), "RenewLease"), sentAt);
  }

  /**
   * Unblocks `key` under `leaseId`: only if it is still the key's lease (FAILED_PRECONDITION
   * otherwise, the key untouched). With `cooldownMs` the key turns COOLING instead of free
   * (after a rate limit): nobody acquires it until then. Retried, since repeating it is
   * harmless; with a cooldown, a repeat after a lost answer may reject FAILED_PRECONDITION
   * although the first attempt parked the key: either way the lease is over.
   */
  releaseKey(key: KeyRef, leaseId: string, options?: ReleaseOptions): Promise<PoolKey>;
  /**
   * Unblocks `key` whoever holds it: `{ unfenced: true }` says so out loud, because it may free
   * a key someone else acquired after your lease ended. Never retried: a repeat could do exactly that.
   */
  releaseKey(key: KeyRef, options: UnfencedRelease): Promise<PoolKey>;
  async releaseKey(key: KeyRef, leaseOrOptions: string | UnfencedRelease, options?: ReleaseOptions): Promise<PoolKey> {
    const fenced = typeof leaseOrOptions === "string";
    if (!fenced && leaseOrOptions?.unfenced !== true) {
      throw new KeyPoolClientError("INVALID_ARGUMENT", "ReleaseKey", "pass the lease id, or { unfenced: true } to release whoever holds the key");
    }
    const callOptions = fenced ? options : leaseOrOptions;
    const cooldownMs = callOptions?.cooldownMs ?? 0;
    if (!Number.isFinite(cooldownMs) || cooldownMs < 0) {
      throw new KeyPoolClientError("INVALID_ARGUMENT", "ReleaseKey", `cooldownMs must be a duration of 0 ms or more (got ${cooldownMs})`);
    }
    const request = {
      ...keyTarget(key, callOptions, "ReleaseKey"),
      leaseId: fenced ? leaseOrOptions : "",
      ...(cooldownMs > 0 ? { cooldown: durationFromMs(cooldownMs) } : {}),
    };
    const response = await this.call("ReleaseKey", fenced, callOptions, (o) => this.stub.releaseKey(request, o));
    return poolKey(response.key, "ReleaseKey");
  }

  /**
   * Purges `key`; NOT_FOUND when the pool does not hold it. Retried: when a retry answers
   * NOT_FOUND, an earlier attempt may have deleted the key, so that counts as success.
   */
  async deleteKey(key: KeyRef, options?: PoolCallOptions): Promise<void> {
    const request = keyTarget(key, options, "DeleteKey");
    await this.call("DeleteKey", true, options, async (o, attempt) => {
      try {
        await this.stub.deleteKey(request, o);
      } catch (err) {
        if (attempt === 1 || (err as { code?: number }).code !== status.NOT_FOUND) throw err;
      }
    });
  }

  /** Sets one key's life to now + keepalive TTL. Retried. */
  async keepAliveKey(key: KeyRef, options?: PoolCallOptions): Promise<PoolKey> {
    const request = keyTarget(key, options, "KeepAliveKey");
    const response = await this.call("KeepAliveKey", true, options, (o) => this.stub.keepAliveKey(request, o));
    return poolKey(response.key, "KeepAliveKey");
  }

  /**
   * Keeps many keys of one pool alive once over one short KeepAlive stream; a key the pool does
   * not hold comes back `found: false`. Malformed keys and pool names are refused before
   * anything is sent. Retried. O(k) for k keys.
   */
  async keepAliveKeys(keys: readonly string[], options?: PoolCallOptions): Promise<KeepAliveOutcome[]> {
    const pool = options?.pool ?? "";
    assertKeys(keys, "KeepAlive");
    assertPool(pool, "KeepAlive");
    if (keys.length === 0) return [];
    return this.call("KeepAlive", true, options, (o) => keepAliveOnce(this.stub.keepAlive(o), pool, keys));
  }

  /** Describes `key` without changing it. Retried. */
  async getKey(key: KeyRef, options?: PoolCallOptions): Promise<PoolKey> {
    const request = keyTarget(key, options, "GetKey");
    const response = await this.call("GetKey", true, options, (o) => this.stub.getKey(request, o));
    return poolKey(response.key, "GetKey");
  }

  /** The pool's counts and settings (zero counts for a pool that does not exist). Retried. */
  async getPoolStats(options?: PoolCallOptions): Promise<PoolStats> {
    const request = { pool: options?.pool ?? "" };
    return poolStats(await this.call("GetPoolStats", true, options, (o) => this.stub.getPoolStats(request, o)));
  }

  /**
   * Holds an acquired key (the PoolKey `acquireKey` returned) until the hold is released or
   * stopped: renews its LEASE and its life, in the key's pool, over the client's ONE shared
   * KeepAlive stream every third of the block TTL, so nobody else can acquire it meanwhile. The
   * hold aborts `signal` and emits `lost` BEFORE the server could consider the lease ended,
   * judged on this client's monotonic clock from when it sent the last renewal the server
   * confirmed (never by comparing clocks); a refused renewal ends it at once (`lease-ended`,
   * `max-lease`, `not-found`). `release()` releases under the lease. Throws INVALID_ARGUMENT for
   * a key without a lease or not returned by this client (its send time starts the deadline),
   * ALREADY_EXISTS when the key is held already. O(1); each tick costs O(k) for k holds.
   */
  hold(key: LeasedKey): LeaseHold;
  /**
   * Keeps a key of `pool` (default: the server's default pool) ALIVE (life only) by its string:
   * no lease, so its block is never extended and another worker may acquire it; the hold has no
   * `release()`. Sends every third of the keepalive TTL (learned once from GetPoolStats) and
   * emits `lost` when the server says the key is gone or no keepalive was confirmed for a whole
   * TTL. INVALID_ARGUMENT for a malformed key or pool name.
   */
  hold(key: string, options?: { readonly pool?: string }): KeepAliveHold;
  hold(key: string | LeasedKey, options?: { readonly pool?: string }): KeepAliveHold {
    if (typeof key !== "string") return this.holds.lease(key);
    return this.holds.alive(key, keyTarget(key, options, "hold").pool);
  }

  /** Stops every hold (no `lost` events) and closes the channel. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.holds.close();
    this.stub.close();
  }

  /**
   * The keepalive TTL for `hold()`: from GetPoolStats of the held key's pool, or, for tokens
   * that may not call it (workers), from the KeepAliveKey response of the held key.
   */
  private async learnTtl(hold: KeepAliveHold): Promise<number> {
    const { key, pool } = hold;
    try {
      return (await this.getPoolStats({ pool })).keepaliveTtlMs;
    } catch (err) {
      const e = err as KeyPoolClientError;
      if (e.code !== "PERMISSION_DENIED") throw e;
      const response = await this.call("KeepAliveKey", true, undefined, (o) => this.stub.keepAliveKey({ key, pool }, o));
      if (!response.keepaliveTtl) throw new KeyPoolClientError("UNIMPLEMENTED", "KeepAliveKey", "the server does not report its keepalive TTL; pass the client option keepaliveTtlMs");
      return durationMs(response.keepaliveTtl);
    }
  }
}

/**
 * Makes a KeyPoolClient for the server at `address` (`host:port`). Connects lazily, on the
 * first call. See KeyPoolClientOptions for the token, TLS, deadlines and retries.
 */
export function createKeyPoolClient(address: string, options: KeyPoolClientOptions = {}): KeyPoolClient {
  return new KeyPoolClient(address, options);
}
