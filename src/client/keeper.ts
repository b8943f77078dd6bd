import type { MessageInitShape } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import type { KeepAliveRequestSchema, KeepAliveResponse } from "../../gen/keypool/v1/keypool_pb.js";
import { MAX_GENERATE } from "../pool/rules.js";
import { keepAliveOutcome } from "./convert.js";
import { KeyPoolClientError } from "./errors.js";
import type { KeyHold } from "./key-hold.js";
import type { Scheduler, TimerHandle } from "./scheduler.js";
import type { LostReason } from "./types.js";

/** Most keys in one KeepAliveRequest (the server's limit). */
export const KEYS_PER_KEEPALIVE = MAX_GENERATE;

type Stream = grpc.ClientDuplexStream<MessageInitShape<typeof KeepAliveRequestSchema>, KeepAliveResponse>;

/** What the keeper needs from its client. */
export interface KeeperDeps {
  openStream(): Stream;
  /** The pool's keepalive TTL (GetPoolStats), asked once. */
  fetchTtlMs(anyHeldKey: string): Promise<number>;
  readonly scheduler: Scheduler;
  /** The wait before reconnect attempt n (1-based). */
  backoffMs(n: number): number;
  lost(key: string, reason: LostReason): void;
  disconnected(error: KeyPoolClientError): void;
  connected(): void;
}

interface Held {
  readonly hold: KeyHold;
  /** Local time a confirmed keepalive was sent (or the hold began): the key lives a TTL past it. */
  confirmedAt: number;
}

/**
 * Keeps every held key of one client alive over ONE KeepAlive stream: sends all keys every third
 * of the keepalive TTL, reconnects with backoff when the stream breaks, and gives a key up as
 * `lost` when the server answers `found: false` or no keepalive was confirmed for a whole TTL.
 * The stream is open only while some key is held. Cost: O(k) per tick for k held keys.
 */
export class KeepAliveKeeper {
  private readonly held = new Map<string, Held>();
  /** Requests written on the current stream and not yet answered, oldest first. */
  private inFlight: { sentAt: number }[] = [];
  private stream: Stream | undefined;
  private answered = false;
  private ttlMs: number | undefined;
  private learning = false;
  private wakeTimer: TimerHandle | undefined;
  private reconnectTimer: TimerHandle | undefined;
  private failures = 0;
  private nextSendAt = 0;

  constructor(private readonly deps: KeeperDeps) {}

  /** Interval between keepalives once the TTL is known: a third of it. */
  get intervalMs(): number | undefined {
    return this.ttlMs === undefined ? undefined : Math.max(1, Math.floor(this.ttlMs / 3));
  }

  /** Whether `key` is held. */
  has(key: string): boolean {
    return this.held.has(key);
  }

  /** Starts keeping `hold.key` alive; sends it at once when the stream is up. O(1). */
  add(hold: KeyHold): void {
    this.held.set(hold.key, { hold, confirmedAt: this.deps.scheduler.now() });
    if (this.stream) this.send([hold.key]);
    else if (this.reconnectTimer === undefined) this.connect();
    this.scheduleWake();
  }

  /** Stops keeping `key` alive; closes the stream when nothing is left. O(1). */
  remove(key: string): void {
    if (!this.held.delete(key)) return;
    if (this.held.size === 0) this.idle();
  }

  /** Stops everything without `lost` events. */
  close(): void {
    this.held.clear();
    this.idle();
  }

  private connect(): void {
    if (this.stream || this.held.size === 0) return;
    if (this.ttlMs === undefined) return this.learnTtl();
    const stream = this.deps.openStream();
    this.stream = stream;
    this.answered = false;
    this.inFlight = [];
    stream.on("data", (response: KeepAliveResponse) => this.onResponse(stream, response));
    stream.on("error", () => {}); // the status below carries the same news
    stream.on("status", (status: grpc.StatusObject) => this.onEnded(stream, status));
    this.send([...this.held.keys()]);
    this.scheduleWake();
  }

  private learnTtl(): void {
    if (this.learning) return;
    this.learning = true;
    this.deps.fetchTtlMs(this.held.keys().next().value!).then(
      (ttl) => {
        this.learning = false;
        this.ttlMs = ttl;
        this.connect();
      },
      (err: unknown) => {
        this.learning = false;
        if (this.held.size === 0) return;
        this.deps.disconnected(KeyPoolClientError.from(err, "GetPoolStats"));
        this.scheduleReconnect();
      },
    );
  }

  private send(keys: string[]): void {
    const now = this.deps.scheduler.now();
    for (let i = 0; i < keys.length; i += KEYS_PER_KEEPALIVE) {
      this.stream!.write({ keys: keys.slice(i, i + KEYS_PER_KEEPALIVE) });
      this.inFlight.push({ sentAt: now });
    }
    if (keys.length === this.held.size) this.nextSendAt = now + (this.intervalMs ?? 0);
  }

  private onResponse(stream: Stream, response: KeepAliveResponse): void {
    if (stream !== this.stream) return;
    const request = this.inFlight.shift();
    if (!this.answered) {
      this.answered = true;
      this.failures = 0;
      this.deps.connected();
    }
    for (const outcome of response.results.map(keepAliveOutcome)) {
      const held = this.held.get(outcome.key);
      if (!held) continue;
      if (!outcome.found) this.lose(outcome.key, "not-found");
      else {
        held.confirmedAt = Math.max(held.confirmedAt, request?.sentAt ?? 0);
        held.hold.emit("renewed", outcome.expiresAt!);
      }
    }
  }

  private onEnded(stream: Stream, status: grpc.StatusObject): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    this.inFlight = [];
    if (this.held.size === 0) return;
    this.deps.disconnected(KeyPoolClientError.from(status, "KeepAlive"));
    this.scheduleReconnect();
    this.scheduleWake();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer !== undefined) return;
    const wait = this.deps.backoffMs(++this.failures);
    this.reconnectTimer = this.deps.scheduler.setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, wait);
  }

  /** Gives up keys unconfirmed for a TTL; sends everything when due; sleeps until the next of both. */
  private wake(): void {
    this.wakeTimer = undefined;
    const now = this.deps.scheduler.now();
    for (const [key, held] of this.held) if (now - held.confirmedAt >= this.ttlMs!) this.lose(key, "stream-down");
    if (this.stream && now >= this.nextSendAt && this.held.size > 0) this.send([...this.held.keys()]);
    this.scheduleWake();
  }

  private scheduleWake(): void {
    if (this.wakeTimer !== undefined) this.deps.scheduler.clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    if (this.held.size === 0 || this.ttlMs === undefined) return;
    let at = this.stream ? this.nextSendAt : Infinity;
    for (const held of this.held.values()) at = Math.min(at, held.confirmedAt + this.ttlMs);
    this.wakeTimer = this.deps.scheduler.setTimeout(() => this.wake(), Math.max(0, at - this.deps.scheduler.now()));
  }

  private lose(key: string, reason: LostReason): void {
    const held = this.held.get(key);
    if (!held) return;
    this.remove(key);
    held.hold.markLost(reason);
    this.deps.lost(key, reason);
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
  }
}
