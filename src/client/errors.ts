import { status } from "@grpc/grpc-js";

/** A gRPC status code by name: `"NOT_FOUND"`, `"UNAVAILABLE"`, … */
export type StatusName = keyof typeof status;

function isServiceError(err: unknown): err is { code: number; details?: string; message: string } {
  return typeof err === "object" && err !== null && typeof (err as { code?: unknown }).code === "number";
}

/**
 * Every failed call of a KeyPoolClient rejects with this: the status `code` to branch on, the
 * RPC that failed, the server's `details` for the caller (the server never puts a whole key in
 * them), and the original grpc-js error as `cause`.
 */
export class KeyPoolClientError extends Error {
  override readonly name = "KeyPoolClientError";

  constructor(
    /** The gRPC status, by name. */
    readonly code: StatusName,
    /** The RPC that failed, e.g. `"GetKey"`. */
    readonly method: string,
    /** What went wrong, as the server (or the client library) put it. */
    readonly details: string,
    options?: { cause?: unknown },
  ) {
    super(`${method}: ${code}: ${details}`, options);
  }

  /** Normalises anything a call threw (a grpc-js ServiceError, an abort, a bug) to this type. */
  static from(err: unknown, method: string): KeyPoolClientError {
    if (err instanceof KeyPoolClientError) return err;
    if ((err as Error)?.name === "AbortError") {
      return new KeyPoolClientError("CANCELLED", method, "the call was cancelled", { cause: err });
    }
    if (isServiceError(err)) {
      const code = (status[err.code] as StatusName | undefined) ?? "UNKNOWN";
      return new KeyPoolClientError(code, method, err.details || err.message, { cause: err });
    }
    return new KeyPoolClientError("UNKNOWN", method, (err as Error)?.message ?? String(err), { cause: err });
  }
}
