import { EventEmitter } from "node:events";
import { redactKey } from "../pool/key-format.js";
import { KeyPoolClientError } from "./errors.js";
import type { StatusName } from "./errors.js";
import type { HoldReleaseOptions, LeasedKey, LostReason, PoolKey } from "./types.js";

/** Events of a hold. */
export interface KeyHoldEvents {
  /**
   * The server confirmed a keepalive (or, for a LeaseHold, a renewal); the key's new life
   * deadline (epoch ms, server clock).
   */
  renewed: [expiresAt: number];
  /** The hold gave the key up; `signal` is aborted too. Emitted at most once, with one argument. */
  lost: [reason: LostReason];
}

/** What a hold needs from its client. */
export interface HoldOwner {
  /** Stops keeping the hold's key alive (or renewing its lease). */
  drop(hold: KeepAliveHold): void;
  /** The client's monotonic clock (ms). */
  now(): number;
  /** A hold found past its deadline (by `active`): the keeper gives it up now. */
  expired(hold: KeepAliveHold): void;
  /** Releases the hold's key under its lease, in its pool. */
  release(hold: LeaseHold, options?: HoldReleaseOptions): Promise<PoolKey>;
}

const DETAILS: Readonly<Record<LostReason, [StatusName, string]>> = {
  "not-found": ["NOT_FOUND", "is gone from the pool (deleted or dead)"],
  "lease-ended": ["FAILED_PRECONDITION", "is no longer held under this lease (released, ran out, or acquired again)"],
  "max-lease": ["FAILED_PRECONDITION", "reached the server's --max-lease: release it and acquire a key again"],
  "permission-denied": ["PERMISSION_DENIED", "may not be kept with this token"],
  "stream-down": ["UNAVAILABLE", "had no keepalive or renewal confirmed in time, so it may be gone"],
};

/**
 * A key kept ALIVE (life only) by `client.hold(keyString)` over the client's shared KeepAlive
 * stream, until `stop()`, `client.close()` or the key is lost. It holds no lease: the key's block
 * is never extended and nobody is stopped from acquiring it. There is no `release()`: releasing
 * without a lease must be spelled out (`client.releaseKey(key, { unfenced: true })`).
 */
export class KeepAliveHold extends EventEmitter<KeyHoldEvents> {
  private readonly controller = new AbortController();
  private lostBecause: LostReason | undefined;
  /** The client-clock instant (monotonic ms) the hold must be given up by; kept by the keeper. */
  deadline = Infinity;

  constructor(
    /** The key held. */
    readonly key: string,
    /** Its pool, as the hold was given it ("" for the server's default pool). */
    readonly pool: string,
    protected readonly owner: HoldOwner,
  ) {
    super();
  }

  /** Aborted when the hold ends (lost or stopped): hand it to the work using the key. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * True until the hold ends. Checked against the deadline on the client's clock each time it is
   * read, so it turns false at the deadline even if the timer that would end the hold runs late.
   */
  get active(): boolean {
    if (!this.controller.signal.aborted && this.owner.now() >= this.deadline) this.owner.expired(this);
    return !this.controller.signal.aborted;
  }

  /** Why the key was lost, once it was. */
  get lostReason(): LostReason | undefined {
    return this.lostBecause;
  }

  /** Stops keeping the key alive; it lives out its current TTL. Idempotent, O(1). */
  stop(): void {
    if (this.controller.signal.aborted) return;
    this.owner.drop(this);
    this.controller.abort(new DOMException("the hold was stopped", "AbortError"));
  }

  /**
   * Called by the keeper when it gives the key up: aborts `signal` (with the server's `said`
   * appended to the reason's words, when the server said why), emits `lost(reason)`.
   */
  markLost(reason: LostReason, said?: string): void {
    if (this.controller.signal.aborted) return;
    this.lostBecause = reason;
    const [code, why] = DETAILS[reason];
    this.controller.abort(new KeyPoolClientError(code, "KeepAlive", `${redactKey(this.key)} ${why}${said ? `: ${said}` : ""}`));
    this.emit("lost", reason);
  }
}

/**
 * An acquired key held by `client.hold(acquiredKey)`: its LEASE (block) and its life are renewed
 * over the client's shared KeepAlive stream, so nobody else can acquire it while the hold is
 * active. The hold ends itself (`lost`, `signal` aborted) before the server could consider the
 * lease ended, judged on this client's clock from when it sent the last renewal the server
 * confirmed; a refused renewal ends it at once. It keeps the key's pool: `release()` releases
 * under the lease in that pool.
 */
export class LeaseHold extends KeepAliveHold {
  /** The lease renewed. */
  readonly leaseId: string;
  /** The lease's fencing token (renewals keep it): send it with every use of the key. */
  readonly fencingToken: number;
  /** When the lease began (server clock). */
  readonly acquiredAt: number;
  /** The latest block deadline the server confirmed (epoch ms, server clock). */
  blockedUntil: number;

  constructor(leased: LeasedKey, owner: HoldOwner) {
    super(leased.key, leased.pool, owner);
    this.leaseId = leased.leaseId;
    this.fencingToken = leased.fencingToken;
    this.acquiredAt = leased.acquiredAt;
    this.blockedUntil = leased.blockedUntil;
  }

  /**
   * Stops the hold and releases the key under its lease, in its pool (a lease that ended never
   * frees someone else's key); `{ cooldownMs }` parks it COOLING instead (after a rate limit:
   * nobody acquires it until the cooldown ends). Resolves undefined when there is no lease left to release: the server said so
   * (`not-found`, `lease-ended`), or the release found it ended. A hold lost to `max-lease`,
   * `permission-denied` or `stream-down` may still hold its lease on the server, so it is
   * released then too (after `permission-denied` that rejects PERMISSION_DENIED when the token
   * may not use the pool: the lease then ends at its block deadline). Other failures reject as
   * `client.releaseKey` does.
   */
  async release(options?: HoldReleaseOptions): Promise<PoolKey | undefined> {
    this.stop();
    if (this.lostReason === "not-found" || this.lostReason === "lease-ended") return undefined;
    try {
      return await this.owner.release(this, options);
    } catch (err) {
      const code = (err as KeyPoolClientError).code;
      if (this.lostReason !== undefined && (code === "FAILED_PRECONDITION" || code === "NOT_FOUND")) return undefined;
      throw err;
    }
  }
}
