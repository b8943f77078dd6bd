import type { MessageInitShape } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import type { KeepAliveRequestSchema, KeepAliveResponse, LeaseResult } from "../../gen/keypool/v1/keypool_pb.js";
import { keepAliveOutcome } from "./convert.js";
import { HeldKeys } from "./held-keys.js";
import type { Held } from "./held-keys.js";
import { holdId, keepAliveBatches, KEYS_PER_KEEPALIVE } from "./keepalive-batches.js";
import type { KeepAliveBatch } from "./keepalive-batches.js";
import { KeyPoolClientError } from "./errors.js";
import type { KeepAliveHold, LeaseHold } from "./key-hold.js";
import { lostReasonOf } from "./lease-timing.js";
import type { Scheduler, TimerHandle } from "./scheduler.js";
import type { LostReason } from "./types.js";

type Stream = grpc.ClientDuplexStream<MessageInitShape<typeof KeepAliveRequestSchema>, KeepAliveResponse>;

/** What the keeper needs from its client. */
export interface KeeperDeps {
  openStream(): Stream;
  /**
   * The keepalive TTL (GetPoolStats of the held key's pool), asked once, and only when a key is
   * held without a lease. A server gives every pool the same TTLs, so one answer serves all.
   * Rejects NOT_FOUND or PERMISSION_DENIED when the server refused `anyHeld` itself (its key is
   * gone, its pool is not the token's): that hold is lost and the next one asked.
   */
  fetchTtlMs(anyHeld: KeepAliveHold): Promise<number>;
  readonly scheduler: Scheduler;
  /** The wait before reconnect attempt n (1-based). */
  backoffMs(n: number): number;
  lost(hold: KeepAliveHold, reason: LostReason): void;
  disconnected(error: KeyPoolClientError): void;
  connected(): void;
}

/**
 * Keeps every held key of one client alive, and every held lease renewed, over ONE KeepAlive
 * stream, each request naming one pool (holds are grouped per pool, at most 1000 per request):
 * sends everything every third of the shortest TTL involved (keepalive TTL for keys held
 * without a lease, block TTL for leases), reconnects with backoff when the stream breaks, and
 * gives a hold up as `lost` when the server refuses it (`found: false`, a refused renewal, a
 * request refused PERMISSION_DENIED: see `onEnded`) or when its deadline on the client's clock
 * passes (see HeldKeys). The stream is open only while something is held. Cost: O(k) per tick
 * for k holds.
 */
export class KeepAliveKeeper {
  private readonly held = new HeldKeys();
  /** Requests written on the current stream and not yet answered, oldest first, with when. */
  private inFlight: { sentAt: number; batch: KeepAliveBatch }[] = [];
  private stream: Stream | undefined;
  private answered = false;
  /** Whether `connected` was the last of connected/disconnected told (a refusal tells neither). */
  private up = false;
  private learning = false;
  private wakeTimer: TimerHandle | undefined;
  private reconnectTimer: TimerHandle | undefined;
  private failures = 0;
  private nextSendAt = 0;
  /** Most entries per request: 1000, unless the server refused as many (its --max-keepalive-keys). */
  private perRequest = KEYS_PER_KEEPALIVE;

  constructor(private readonly deps: KeeperDeps) {}

  /** Interval between sends: a third of the shortest TTL of what is held (or of the keepalive TTL); undefined before known. */
  get intervalMs(): number | undefined {
    return this.held.intervalMs;
  }

  /** Whether `key` of `pool` is held. */
  has(pool: string, key: string): boolean {
    return this.held.get(holdId(pool, key)) !== undefined;
  }

  /** Starts keeping `hold.key` alive; sends it at once when the stream is up. O(1). */
  add(hold: KeepAliveHold): void {
    this.track({ hold, lease: undefined, confirmedAt: this.deps.scheduler.now() });
  }

  /**
   * Starts renewing `hold`'s lease, whose AcquireKey (or last renewal) was sent at `sentAt`
   * (client clock) and whose block lasts `blockTtlMs`. O(1).
   */
  addLease(hold: LeaseHold, sentAt: number, blockTtlMs: number): void {
    this.track({ hold, lease: { hold, blockTtlMs, ttlMs: blockTtlMs }, confirmedAt: sentAt });
  }

  /** Stops keeping `hold`'s key alive; closes the stream when nothing is left. O(1). */
  remove(hold: KeepAliveHold): void {
    if (this.held.remove(hold) && this.held.size === 0) this.idle();
  }

  /** Gives `hold` up now because its deadline passed (the hold noticed it before the timer). */
  expire(hold: KeepAliveHold): void {
    this.lose(holdId(hold.pool, hold.key), "stream-down");
  }

  /** Stops everything without `lost` events. */
  close(): void {
    this.held.clear();
    this.idle();
  }

  private track(held: Held): void {
    this.held.add(held);
    if (this.stream) this.send([held]);
    else if (this.reconnectTimer === undefined) this.connect();
    this.scheduleWake();
  }

  private connect(): void {
    if (this.stream || this.held.size === 0) return;
    const keyOnly = [...this.held.values()].find((h) => !h.lease);
    if (keyOnly && this.held.ttlMs === undefined) return this.learnTtl(keyOnly.hold);
    const stream = this.deps.openStream();
    this.stream = stream;
    this.answered = false;
    this.inFlight = [];
    stream.on("data", (response: KeepAliveResponse) => this.onResponse(stream, response));
    stream.on("error", () => {}); // the status below carries the same news
    stream.on("status", (status: grpc.StatusObject) => this.onEnded(stream, status));
    this.send([...this.held.values()]);
    this.scheduleWake();
  }

  private learnTtl(hold: KeepAliveHold): void {
    if (this.learning) return;
    this.learning = true;
    this.deps.fetchTtlMs(hold).then(
      (ttl) => {
        this.learning = false;
        this.held.learnTtl(ttl);
        this.connect();
      },
      (err: unknown) => {
        this.learning = false;
        if (this.held.size === 0) return;
        const error = KeyPoolClientError.from(err, "GetPoolStats");
        const refusal = error.code === "NOT_FOUND" ? "not-found" : error.code === "PERMISSION_DENIED" ? "permission-denied" : undefined;
        if (refusal === undefined) return this.broke(error);
        // The server refused this hold, not the others: they must not wait for it.
        const id = holdId(hold.pool, hold.key);
        if (this.held.get(id)?.hold === hold) this.lose(id, refusal, refusal === "permission-denied" ? error.details : undefined);
        this.connect();
      },
    );
  }

  /** Writes `holds` as requests of one pool and at most 1000 entries each. O(k). */
  private send(holds: Held[]): void {
    const now = this.deps.scheduler.now();
    const entries = holds.map((h) => ({ pool: h.hold.pool, key: h.hold.key, leaseId: h.lease?.hold.leaseId }));
    for (const batch of keepAliveBatches(entries, this.perRequest)) {
      this.stream!.write(batch);
      this.inFlight.push({ sentAt: now, batch });
    }
    if (holds.length === this.held.size) this.nextSendAt = now + (this.intervalMs ?? 0);
  }

  private onResponse(stream: Stream, response: KeepAliveResponse): void {
    if (stream !== this.stream) return;
    const { sentAt, batch: { pool } } = this.inFlight.shift() ?? { sentAt: 0, batch: { pool: "" } };
    if (!this.answered) {
      this.answered = true;
      this.failures = 0;
      if (!this.up) this.deps.connected();
      this.up = true;
    }
    for (const outcome of response.results.map(keepAliveOutcome)) {
      const id = holdId(pool, outcome.key);
      const held = this.held.get(id);
      if (!held || held.lease) continue;
      if (!outcome.found) this.lose(id, "not-found");
      else this.held.confirm(held, sentAt, outcome.expiresAt!);
    }
    for (const result of response.leaseResults) this.onLeaseResult(holdId(pool, result.key), result, sentAt);
    this.scheduleWake();
  }

  private onLeaseResult(id: string, result: LeaseResult, sentAt: number): void {
    const held = this.held.get(id);
    if (!held?.lease || held.lease.hold.leaseId !== result.leaseId) return;
    if (!result.renewed) return this.lose(id, lostReasonOf(result.reason));
    this.held.renewed(held, result, sentAt);
  }

  /**
   * The stream ended. The server answers requests in order and ends the stream at the first one
   * it refuses, so a PERMISSION_DENIED end with a request unanswered refused the OLDEST one (a
   * pool the token may not use; a token refused KeepAlive altogether is refused at its first
   * request, and so loses every hold a request at a time): its holds are lost with the server's
   * words, and the others go on at once over a fresh stream, as nothing of theirs was refused.
   * An INVALID_ARGUMENT end refused the oldest one for its size, since every entry passed this
   * client's own checks (the server's --max-keepalive-keys is below 1000): requests are halved
   * until the server takes them, at once, on a fresh stream (at most 10 times). Anything else is
   * the stream breaking: reconnect with backoff.
   */
  private onEnded(stream: Stream, status: grpc.StatusObject): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    const error = KeyPoolClientError.from(status, "KeepAlive");
    const oldest = this.inFlight[0]?.batch;
    this.inFlight = [];
    if (this.held.size === 0) return;
    if (oldest && error.code === "PERMISSION_DENIED") {
      for (const id of [...this.held.named(oldest)]) this.lose(id, "permission-denied", error.details);
      return this.connect();
    }
    const entries = oldest ? oldest.keys.length + oldest.leases.length : 0;
    if (error.code === "INVALID_ARGUMENT" && entries > 1) {
      this.perRequest = Math.min(this.perRequest, Math.floor(entries / 2));
      return this.connect();
    }
    this.broke(error);
    this.scheduleWake();
  }

  private broke(error: KeyPoolClientError): void {
    this.up = false;
    this.deps.disconnected(error);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer !== undefined) return;
    const wait = this.deps.backoffMs(++this.failures);
    this.reconnectTimer = this.deps.scheduler.setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, wait);
  }

  /** Gives up holds past their deadline; sends everything when due; sleeps until the next of both. */
  private wake(): void {
    this.wakeTimer = undefined;
    const now = this.deps.scheduler.now();
    for (const [id, held] of [...this.held.entries()]) if (now >= held.hold.deadline) this.lose(id, "stream-down");
    if (this.stream && now >= this.nextSendAt && this.held.size > 0) this.send([...this.held.values()]);
    this.scheduleWake();
  }

  private scheduleWake(): void {
    if (this.wakeTimer !== undefined) this.deps.scheduler.clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    if (this.held.size === 0) return;
    let at = this.stream && this.intervalMs !== undefined ? this.nextSendAt : Infinity;
    for (const held of this.held.values()) at = Math.min(at, held.hold.deadline);
    if (at === Infinity) return;
    this.wakeTimer = this.deps.scheduler.setTimeout(() => this.wake(), Math.max(0, at - this.deps.scheduler.now()));
  }

  private lose(id: string, reason: LostReason, said?: string): void {
    const held = this.held.get(id);
    if (!held) return;
    this.remove(held.hold);
    held.hold.markLost(reason, said);
    this.deps.lost(held.hold, reason);
  }

  /** Nothing held: half-close the stream and stop every timer, so the process may exit. */
  private idle(): void {
    const stream = this.stream;
    this.stream = undefined;
    this.inFlight = [];
    stream?.end();
    for (const timer of [this.wakeTimer, this.reconnectTimer]) if (timer !== undefined) this.deps.scheduler.clearTimeout(timer);
    this.wakeTimer = this.reconnectTimer = undefined;
    this.failures = 0;
    this.up = false;
  }
}
