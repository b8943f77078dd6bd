import * as grpc from "@grpc/grpc-js";
import type { LogLimiter } from "./log-limiter.js";
import { grpcCodeName, grpcType } from "./metrics.js";
import type { Metrics } from "./metrics.js";

/** Codes that are a routine answer (debug); others that are not OK are worth an info line. */
const ROUTINE = new Set([
  grpc.status.NOT_FOUND, grpc.status.INVALID_ARGUMENT, grpc.status.FAILED_PRECONDITION, grpc.status.CANCELLED,
]);

/**
 * A grpc-js server interceptor that records the standard gRPC server metrics for every call and
 * logs one line per failed call naming the method and code (never a key: details never hold one),
 * through the rate limit of `lines`. INTERNAL is logged where the cause is known (the status
 * mapper). O(1) per call.
 */
export function telemetryInterceptor(metrics: Metrics, lines: LogLimiter): grpc.ServerInterceptor {
  return (method, call) => {
    const slash = method.path.lastIndexOf("/");
    const labels = {
      grpc_type: grpcType(method.requestStream, method.responseStream),
      grpc_service: method.path.slice(1, slash),
      grpc_method: method.path.slice(slash + 1),
    };
    const start = process.hrtime.bigint();
    metrics.started.inc(labels);
    return new grpc.ServerInterceptingCall(call, {
      sendStatus: (status, next) => {
        metrics.handled.inc({ ...labels, grpc_code: grpcCodeName(status.code) });
        metrics.handling.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
        if (status.code !== grpc.status.OK && status.code !== grpc.status.INTERNAL) {
          const code = grpc.status[status.code] ?? String(status.code);
          lines.write(ROUTINE.has(status.code) ? "debug" : "info", { method: method.path, code, details: status.details }, "rpc failed");
        }
        next(status);
      },
    });
  };
}
