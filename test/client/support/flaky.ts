import * as grpc from "@grpc/grpc-js";

/**
 * How many calls of each method (by RPC name, e.g. "GetKey") fail with UNAVAILABLE: `before`
 * fail without reaching the server; `after` reach it, do their work, and lose the response.
 */
export interface FlakyPlan {
  readonly before?: Readonly<Record<string, number>>;
  readonly after?: Readonly<Record<string, number>>;
}

/** A client interceptor failing calls as `plan` says, and the calls each method saw. */
export function flakyInterceptor(plan: FlakyPlan): { interceptor: grpc.Interceptor; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const interceptor: grpc.Interceptor = (options, nextCall) => {
    const method = options.method_definition.path.slice(options.method_definition.path.lastIndexOf("/") + 1);
    const n = (calls[method] = (calls[method] ?? 0) + 1);
    if (n <= (plan.before?.[method] ?? 0)) {
      return new grpc.InterceptingCall(nextCall(options), {
        start: (_metadata, listener) => {
          setImmediate(() =>
            listener.onReceiveStatus?.({ code: grpc.status.UNAVAILABLE, details: "flaky: never sent", metadata: new grpc.Metadata() }),
          );
        },
        sendMessage: () => {},
        halfClose: () => {},
      });
    }
    if (n <= (plan.after?.[method] ?? 0)) {
      return new grpc.InterceptingCall(nextCall(options), {
        start: (metadata, listener, next) =>
          next(metadata, {
            onReceiveStatus: (status, nextStatus) =>
              nextStatus({ code: grpc.status.UNAVAILABLE, details: "flaky: response lost", metadata: status.metadata }),
          }),
      });
    }
    return new grpc.InterceptingCall(nextCall(options));
  };
  return { interceptor, calls };
}
