import type { MessageInitShape } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import type { KeepAliveRequestSchema, KeepAliveResponse, LeaseResult } from "../../gen/keypool/v1/keypool_pb.js";
import { keepAliveOutcome } from "./convert.js";
import { batchEntries, holdId, keepAliveBatches } from "./keepalive-batches.js";
import type { KeepAliveBatch } from "./keepalive-batches.js";
import { KeyPoolClientError } from "./errors.js";
import type { KeepAliveHold, LeaseHold } from "./key-hold.js";
import { leaseDeadline, lostReasonOf, renewedLease } from "./lease-timing.js";
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

interface Held {
  readonly hold: KeepAliveHold;
  /** Set for a LeaseHold: the lease renewed, its block TTL, and the TTL its deadline is judged by. */
  readonly lease: { readonly hold: LeaseHold; readonly blockTtlMs: number; ttlMs: number } | undefined;
  /** Client time a confirmed keepalive or renewal was sent (or the lease's AcquireKey was sent). */
  confirmedAt: number;
}

/**
 * Keeps every held key of one client alive, and every held lease renewed, over ONE KeepAlive
 * stream, each request naming one pool (holds are grouped per pool, at most 1000 per request):
 * sends everything every third of the shortest TTL involved (keepalive TTL for keys held
 * without a lease, block TTL for leases), reconnects with backoff when the stream breaks, and
 * gives a hold up as `lost` when the server refuses it (`found: false`, a refused renewal, a
 * request refused PERMISSION_DENIED: see `onEnded`) or when its deadline on the client's clock passes: for a key, a keepalive TTL after the last
 * confirmed send; for a lease, a little before a block TTL after it (see lease-timing.ts). The
 * stream is open only while something is held. Cost: O(k) per tick for k holds.
 */
export class KeepAliveKeeper {
  private readonly held = new Map<string, Held>();
  /** Requests written on the current stream and not yet answered, oldest first, with when. */
  private inFlight: { sentAt: number; batch: KeepAliveBatch }[] = [];
  private stream: Stream | undefined;
  private answered = false;
  /** Whether `connected` was the last of connected/disconnected told (a refusal tells neither). */
  private up = false;
  private ttlMs: number | undefined;
  private learning = false;
  private wakeTimer: TimerHandle | undefined;
  private reconnectTimer: TimerHandle | undefined;
  private failures = 0;
  private nextSendAt = 0;

  constructor(private readonly deps: KeeperDeps) {}

  /** Interval between sends: a third of the shortest TTL of what is held (or of the keepalive TTL); undefined before known. */
  get intervalMs(): number | undefined {
    let ttl = this.ttlMs ?? Infinity;
    for (const h of this.held.values()) if (h.lease) ttl = Math.min(ttl, h.lease.ttlMs);
    return ttl === Infinity ? undefined : Math.max(1, Math.floor(ttl / 3));
  }

  /** Whether `key` of `pool` is held. */
  has(pool: string, key: string): boolean {
    return this.held.has(holdId(pool, key));
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
    const id = holdId(hold.pool, hold.key);
    if (this.held.get(id)?.hold !== hold) return;
    this.held.delete(id);
    if (this.held.size === 0) this.idle();
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
    this.held.set(holdId(held.hold.pool, held.hold.key), held);
    this.setDeadline(held);
    if (this.stream) this.send([held]);
    else if (this.reconnectTimer === undefined) this.connect();
    this.scheduleWake();
  }

  private connect(): void {
    if (this.stream || this.held.size === 0) return;
    const keyOnly = [...this.held.values()].find((h) => !h.lease);
    if (keyOnly && this.ttlMs === undefined) return this.learnTtl(keyOnly.hold);
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
        this.learnedTtl(ttl);
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
    for (const batch of keepAliveBatches(entries)) {
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
      else this.confirm(held, sentAt, outcome.expiresAt!);
    }
    for (const result of response.leaseResults) this.onLeaseResult(holdId(pool, result.key), result, sentAt);
    this.scheduleWake();
  }

  private onLeaseResult(id: string, result: LeaseResult, sentAt: number): void {
    const held = this.held.get(id);
    if (!held?.lease || held.lease.hold.leaseId !== result.leaseId) return;
    if (!result.renewed) return this.lose(id, lostReasonOf(result.reason));
    const renewed = renewedLease(result, held.lease.blockTtlMs);
    held.lease.hold.blockedUntil = renewed.blockedUntil;
    held.lease.ttlMs = renewed.ttlMs;
    // A key held by its string beside leases went out on their stream without the TTL asked:
    // without this its deadline would stay open-ended, and a dead stream would never lose it.
    if (this.ttlMs === undefined) this.learnedTtl(renewed.lifeTtlMs);
    this.confirm(held, sentAt, renewed.expiresAt);
  }

  /** The keepalive TTL is known: every hold's deadline follows it from now on. O(k). */
  private learnedTtl(ttlMs: number): void {
    this.ttlMs = ttlMs;
    for (const h of this.held.values()) this.setDeadline(h);
  }

  private confirm(held: Held, sentAt: number, expiresAt: number): void {
    held.confirmedAt = Math.max(held.confirmedAt, sentAt);
    this.setDeadline(held);
    held.hold.emit("renewed", expiresAt);
  }

  private setDeadline(held: Held): void {
    held.hold.deadline = held.lease
      ? leaseDeadline(held.confirmedAt, held.lease.ttlMs)
      : held.confirmedAt + (this.ttlMs ?? Infinity);
  }

  /**
   * The stream ended. The server answers requests in order and ends the stream at the first one
   * it refuses, so a PERMISSION_DENIED end with a request unanswered refused the OLDEST one (a
   * pool the token may not use; a token refused KeepAlive altogether is refused at its first
   * request, and so loses every hold a request at a time): its holds are lost with the server's
   * words, and the others go on at once over a fresh stream, as nothing of theirs was refused.
   * Anything else is the stream breaking: reconnect with backoff.
   */
  private onEnded(stream: Stream, status: grpc.StatusObject): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    const error = KeyPoolClientError.from(status, "KeepAlive");
    const refused = error.code === "PERMISSION_DENIED" ? this.inFlight[0]?.batch : undefined;
    this.inFlight = [];
    if (this.held.size === 0) return;
    if (refused) {
      this.refuse(refused, error.details);
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

  /** Loses every hold `batch` named, as it named them (a lease by its id), for `said`. O(k). */
  private refuse(batch: KeepAliveBatch, said: string): void {
    for (const { id, leaseId } of batchEntries(batch)) {
      const held = this.held.get(id);
      if (held && held.lease?.hold.leaseId === leaseId) this.lose(id, "permission-denied", said);
    }
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
    for (const [id, held] of this.held) if (now >= held.hold.deadline) this.lose(id, "stream-down");
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
