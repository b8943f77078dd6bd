import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { LeaseResult } from "../../gen/keypool/v1/keypool_pb.js";
import type { LostReason } from "./types.js";

/**
 * When a lease hold must be given up, on the client's monotonic clock: a little before `ttlMs`
 * after `sentAt`, the client time the last confirmed renewal (or the AcquireKey) was SENT. The
 * server set the block to its own now + TTL on receiving that request, which was no earlier
 * than the send, so the block cannot end before `sentAt + ttlMs` in real time: no wall clocks
 * are compared. The margin (1/20 of the TTL) covers clock-rate differences and this process
 * acting on the deadline a little late. O(1).
 */
export function leaseDeadline(sentAt: number, ttlMs: number): number {
  return sentAt + ttlMs - ttlMs / 20;
}

/** A block TTL as a leased key shows it: blockedUntil - acquiredAt, both on the server's clock. O(1). */
export function blockTtlOf(key: { readonly blockedUntil: number; readonly acquiredAt: number }): number {
  return key.blockedUntil - key.acquiredAt;
}

/**
 * What a confirmed renewal says: the new deadlines (server clock), the key's life (keepalive)
 * TTL, which the renewal reveals (expiresAt - blockedUntil + block TTL, both set from one server
 * instant), and the TTL a lease hold is judged by from now on: the shorter of the two. O(1).
 */
export function renewedLease(result: LeaseResult, blockTtlMs: number): { blockedUntil: number; expiresAt: number; lifeTtlMs: number; ttlMs: number } {
  const blockedUntil = timestampMs(result.blockedUntil!);
  const expiresAt = timestampMs(result.expiresAt!);
  const lifeTtlMs = expiresAt - blockedUntil + blockTtlMs;
  return { blockedUntil, expiresAt, lifeTtlMs, ttlMs: Math.min(blockTtlMs, lifeTtlMs) };
}

/** The LostReason of a refused renewal's `reason` (a reason this client does not know: lease-ended). O(1). */
export function lostReasonOf(reason: string): LostReason {
  return reason === "not-found" || reason === "max-lease" ? reason : "lease-ended";
}
