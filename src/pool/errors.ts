/**
 * What went wrong, in the pool's own words. The server maps each code to one gRPC status in a
 * single table (`src/server/status.ts`); nothing below the server knows about gRPC.
 */
export type KeyPoolErrorCode =
  | "invalid-argument"
  | "not-found"
  | "failed-precondition"
  /** An ImportKeys key the pool already holds (or one repeated in the call). */
  | "already-exists"
  | "resource-exhausted"
  | "unavailable"
  /** The caller gave up (cancelled the call) before the answer was ready. */
  | "cancelled";

/**
 * An error a caller can act on: a code, a message meant for the caller (never a whole key, never
 * a stack trace) and an optional `cause` that is only ever logged.
 */
export class KeyPoolError extends Error {
  override readonly name = "KeyPoolError";

  constructor(
    readonly code: KeyPoolErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
