import { status as Status } from "@grpc/grpc-js";
import type { StatusObject } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { KeyPoolError } from "../pool/index.js";
import type { KeyPoolErrorCode } from "../pool/index.js";
import { MalformedMessage } from "../grpc/service-definition.js";
import type { CallContext } from "../grpc/typed-server.js";
import { CallRefused } from "./access.js";

/** THE table from domain error codes to gRPC status codes; nothing else maps errors. */
export const STATUS_OF: Readonly<Record<KeyPoolErrorCode, Status>> = {
  "invalid-argument": Status.INVALID_ARGUMENT,
  "not-found": Status.NOT_FOUND,
  "failed-precondition": Status.FAILED_PRECONDITION,
  "already-exists": Status.ALREADY_EXISTS,
  "resource-exhausted": Status.RESOURCE_EXHAUSTED,
  unavailable: Status.UNAVAILABLE,
  cancelled: Status.CANCELLED,
};

/**
 * Normalises anything a handler threw into the status sent to the client. Domain errors keep
 * their message; a malformed request is INVALID_ARGUMENT; anything else is INTERNAL with a
 * generic message, and its cause (with stack) goes to the log only, never to the client.
 * (Other failures are logged once, with their code, by the telemetry interceptor.)
 */
export function errorToStatus(err: unknown, context: CallContext, log: Logger): Partial<StatusObject> {
  if (err instanceof KeyPoolError) {
    return { code: STATUS_OF[err.code], details: err.message };
  }
  if (err instanceof CallRefused) return { code: err.code, details: err.message };
  if (err instanceof MalformedMessage) {
    return { code: Status.INVALID_ARGUMENT, details: `the request is not a valid ${err.typeName} message` };
  }
  log.error({ method: context.method, code: "INTERNAL", err }, "rpc failed with an unexpected error");
  return { code: Status.INTERNAL, details: "internal error; the server logged the cause" };
}
