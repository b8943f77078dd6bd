/**
 * What soak client processes tell the parent over IPC. Times are wall-clock milliseconds; every
 * process runs on the same machine (loopback only), so the server's clock and the clients' agree.
 */

/** The operations a soak client does, for the per-kind counts. */
export const OP_KINDS = [
  "acquire", "release", "release-stale", "keepalive", "keepalive-stream", "delete", "generate", "get", "stats",
] as const;

/** One kind of soak operation. */
export type OpKind = (typeof OP_KINDS)[number];

/** A key was handed out: `at` is the server's instant of acquisition (blocked_until - block TTL). */
export interface AcquiredEvent {
  readonly e: "acquired";
  readonly key: string;
  readonly leaseId: string;
  readonly at: number;
  readonly blockedUntil: number;
  readonly expiresAt: number;
  readonly client: number;
}

/** A release under `leaseId` succeeded; it reached the server between `sent` and `answered`. */
export interface ReleasedEvent {
  readonly e: "released";
  readonly key: string;
  readonly leaseId: string;
  readonly sent: number;
  readonly answered: number;
}

/** A delete succeeded between `sent` and `answered`. */
export interface DeletedEvent {
  readonly e: "deleted";
  readonly key: string;
  readonly sent: number;
  readonly answered: number;
}

/** The key was alive at the server instant `at` and lives until `expiresAt` (generate, keepalive). */
export interface LivedEvent {
  readonly e: "lived";
  readonly key: string;
  readonly at: number;
  readonly expiresAt: number;
}

/** Something no correct server does (an unexpected status, an inconsistent answer). */
export interface ViolationEvent {
  readonly e: "violation";
  readonly what: string;
}

/** Any ledger event. */
export type SoakEvent = AcquiredEvent | ReleasedEvent | DeletedEvent | LivedEvent | ViolationEvent;

/** Parent -> client: what to do. */
export interface ClientConfig {
  readonly id: number;
  readonly address: string;
  readonly durationMs: number;
  readonly blockTtlMs: number;
  readonly keepaliveTtlMs: number;
  /** Keys this client starts out knowing (and mostly keeps alive). */
  readonly keys: readonly string[];
  /** How many keys this client tries to know (it generates more when it knows fewer). */
  readonly target: number;
  readonly seed: number;
}

/** Client -> parent messages. */
export type ClientMessage =
  | { readonly type: "events"; readonly events: readonly SoakEvent[] }
  | { readonly type: "done"; readonly ops: Readonly<Record<OpKind, number>>; readonly codes: Readonly<Record<string, number>> };

/** A key as it may appear in output: the prefix and four characters, never the whole key. */
export function redact(key: string): string {
  return `${key.slice(0, 7)}…`;
}
