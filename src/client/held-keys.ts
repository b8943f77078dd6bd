import type { LeaseResult } from "../../gen/keypool/v1/keypool_pb.js";
import { batchEntries, holdId } from "./keepalive-batches.js";
import type { KeepAliveBatch } from "./keepalive-batches.js";
import type { KeepAliveHold, LeaseHold } from "./key-hold.js";
import { leaseDeadline, renewedLease } from "./lease-timing.js";

/** One hold as a keeper keeps it. */
export interface Held {
  readonly hold: KeepAliveHold;
  /** Set for a LeaseHold: the lease renewed, its block TTL, and the TTL its deadline is judged by. */
  readonly lease: { readonly hold: LeaseHold; readonly blockTtlMs: number; ttlMs: number } | undefined;
  /** Client time a confirmed keepalive or renewal was sent (or the lease's AcquireKey was sent). */
  confirmedAt: number;
}

/**
 * The holds of one keeper by (pool, key), each with its deadline on the client's clock: for a key,
 * a keepalive TTL after its last confirmed send (open-ended only until the TTL is known); for a
 * lease, a little before its TTL after it (lease-timing.ts). O(1) per hold unless it says.
 */
export class HeldKeys {
  private readonly byId = new Map<string, Held>();
  private keepaliveTtlMs: number | undefined;

  /** How many holds there are. */
  get size(): number {
    return this.byId.size;
  }

  /** The keepalive TTL (one for every pool of a server), once known. */
  get ttlMs(): number | undefined {
    return this.keepaliveTtlMs;
  }

  /** A third of the shortest TTL of what is held (or of the keepalive TTL); undefined before known. O(k). */
  get intervalMs(): number | undefined {
    let ttl = this.keepaliveTtlMs ?? Infinity;
    for (const h of this.byId.values()) if (h.lease) ttl = Math.min(ttl, h.lease.ttlMs);
    return ttl === Infinity ? undefined : Math.max(1, Math.floor(ttl / 3));
  }

  /** The hold of `id` (holdId), if any. */
  get(id: string): Held | undefined {
    return this.byId.get(id);
  }

  /** Every hold, by id, in the order they were added. */
  entries(): IterableIterator<[string, Held]> {
    return this.byId.entries();
  }

  /** Every hold, in the order they were added. */
  values(): IterableIterator<Held> {
    return this.byId.values();
  }

  /** Keeps `held` (replacing any hold of its key) and sets its deadline. */
  add(held: Held): void {
    this.byId.set(holdId(held.hold.pool, held.hold.key), held);
    this.setDeadline(held);
  }

  /** Forgets `hold`, if it is the one kept for its key; says whether it was. */
  remove(hold: KeepAliveHold): boolean {
    const id = holdId(hold.pool, hold.key);
    if (this.byId.get(id)?.hold !== hold) return false;
    return this.byId.delete(id);
  }

  /** Forgets every hold. */
  clear(): void {
    this.byId.clear();
  }

  /** The keepalive TTL is known: every hold's deadline follows it from now on. O(k). */
  learnTtl(ttlMs: number): void {
    this.keepaliveTtlMs = ttlMs;
    for (const h of this.byId.values()) this.setDeadline(h);
  }

  /** A keepalive sent at `sentAt` was confirmed: the hold's deadline moves on. */
  confirm(held: Held, sentAt: number, expiresAt: number): void {
    held.confirmedAt = Math.max(held.confirmedAt, sentAt);
    this.setDeadline(held);
    held.hold.emit("renewed", expiresAt);
  }

  /**
   * A renewal sent at `sentAt` was confirmed: the lease's block and TTL, and the keepalive TTL if
   * still unknown (a key held by its string beside leases went out on their stream without it;
   * left open-ended, its deadline would never pass however long the stream stayed down).
   */
  renewed(held: Held, result: LeaseResult, sentAt: number): void {
    const renewal = renewedLease(result, held.lease!.blockTtlMs);
    held.lease!.hold.blockedUntil = renewal.blockedUntil;
    held.lease!.ttlMs = renewal.ttlMs;
    if (this.keepaliveTtlMs === undefined) this.learnTtl(renewal.lifeTtlMs);
    this.confirm(held, sentAt, renewal.expiresAt);
  }

  /** The ids of the holds `batch` named as it named them (a lease under its id). O(k). */
  *named(batch: KeepAliveBatch): Generator<string> {
    for (const { id, leaseId } of batchEntries(batch)) {
      const held = this.byId.get(id);
      if (held && held.lease?.hold.leaseId === leaseId) yield id;
    }
  }

  private setDeadline(held: Held): void {
    held.hold.deadline = held.lease
      ? leaseDeadline(held.confirmedAt, held.lease.ttlMs)
      : held.confirmedAt + (this.keepaliveTtlMs ?? Infinity);
  }
}
