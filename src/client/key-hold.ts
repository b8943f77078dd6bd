import { EventEmitter } from "node:events";
import { redactKey } from "../pool/key-format.js";
import { KeyPoolClientError } from "./errors.js";
import type { CallOptions, LostReason, PoolKey } from "./types.js";

/** Events of a KeyHold. */
export interface KeyHoldEvents {
  /** The server confirmed a keepalive; the key's new life deadline (epoch ms, server clock). */
  renewed: [expiresAt: number];
  /** The hold gave the key up; `signal` is aborted too. Emitted at most once. */
  lost: [reason: LostReason];
}

/** What a hold needs from its client. */
export interface HoldOwner {
  /** Stops keeping `key` alive. */
  drop(key: string): void;
  release(key: string, leaseId: string | undefined, options?: CallOptions): Promise<PoolKey>;
}

/**
 * One key kept alive by `client.hold(key)` over the client's shared KeepAlive stream, until
 * `stop()`, `release()`, `client.close()` or the key is lost. Keepalives never extend the key's
 * block: a lease still ends at `blockedUntil`.
 */
export class KeyHold extends EventEmitter<KeyHoldEvents> {
  private readonly controller = new AbortController();
  private lostBecause: LostReason | undefined;

  constructor(
    /** The key held. */
    readonly key: string,
    /** The lease `release()` releases under, when the key was held as an acquired PoolKey. */
    readonly leaseId: string | undefined,
    private readonly owner: HoldOwner,
  ) {
    super();
  }

  /** Aborted when the hold ends (lost, stopped or released): hand it to the work using the key. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True until the hold ends. */
  get active(): boolean {
    return !this.controller.signal.aborted;
  }

  /** Why the key was lost, once it was. */
  get lostReason(): LostReason | undefined {
    return this.lostBecause;
  }

  /** Stops keeping the key alive; it lives out its current TTL. Idempotent, O(1). */
  stop(): void {
    if (!this.active) return;
    this.owner.drop(this.key);
    this.controller.abort(new DOMException("the hold was stopped", "AbortError"));
  }

  /**
   * Stops the hold and releases the key (under `leaseId` when known, so a lease that ran out
   * never frees someone else's). Resolves undefined without a call when the server already said
   * the key is gone; otherwise rejects as `client.releaseKey` does.
   */
  async release(options?: CallOptions): Promise<PoolKey | undefined> {
    this.stop();
    if (this.lostBecause === "not-found") return undefined;
    return this.owner.release(this.key, this.leaseId, options);
  }

  /** Called by the keeper when it gives the key up: aborts `signal`, emits `lost`. */
  markLost(reason: LostReason): void {
    if (!this.active) return;
    this.lostBecause = reason;
    const details = reason === "not-found"
      ? `${redactKey(this.key)} is gone from the pool (deleted or dead)`
      : `no keepalive of ${redactKey(this.key)} was confirmed for a whole keepalive TTL`;
    this.controller.abort(new KeyPoolClientError(reason === "not-found" ? "NOT_FOUND" : "UNAVAILABLE", "KeepAlive", details));
    this.emit("lost", reason);
  }
}
