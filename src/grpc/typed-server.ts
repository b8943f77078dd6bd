import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type * as grpc from "@grpc/grpc-js";
import { MalformedMessage, serviceDefinition } from "./service-definition.js";
import type { FastCodec } from "./service-definition.js";

/** What a handler learns about its call besides the request. */
export interface CallContext {
  /** The full method path, e.g. `/keypool.v1.KeyService/AcquireKey`. */
  readonly method: string;
  readonly metadata: grpc.Metadata;
  readonly peer: string;
  /** Aborted when the client cancels or the deadline passes. */
  readonly signal: AbortSignal;
  /** Milliseconds left before the call's deadline, at the time of asking (Infinity: none). O(1). */
  timeLeftMs(): number;
}

/** A unary handler: resolve with the response, reject with any error (mapped by `onError`). */
export type UnaryHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: CallContext,
) => Promise<MessageInitShape<O>>;

/** A bidirectional stream: read requests from `call`, write responses; resolve to end with OK. */
export type BidiHandler<I extends DescMessage, O extends DescMessage> = (
  call: grpc.ServerDuplexStream<MessageShape<I> | MalformedMessage, MessageInitShape<O>>,
  context: CallContext,
) => Promise<void>;

/** The typed implementation of a generated service: one handler per method, checked at compile time. */
export type ServiceImpl<S> =
  S extends GenService<infer R extends GenServiceMethods>
    ? {
        [K in keyof R]: R[K]["methodKind"] extends "unary"
          ? UnaryHandler<R[K]["input"], R[K]["output"]>
          : R[K]["methodKind"] extends "bidi_streaming"
            ? BidiHandler<R[K]["input"], R[K]["output"]>
            : never;
      }
    : never;

/** Turns any thrown value into the status sent to the client (and logs what must be logged). */
export type ErrorMapper = (err: unknown, context: CallContext) => Partial<grpc.StatusObject>;

function contextOf(method: string, call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>): CallContext & { done(): void } {
  // grpc-js 1.14 emits "cancelled" after EVERY call ends, even a completed one; aborting then
  // costs a DOMException with a stack per call. Make the signal lazily and stop listening once
  // the handler settled.
  let controller: AbortController | undefined;
  const onCancel = (): void => (controller ??= new AbortController()).abort();
  call.once("cancelled", onCancel);
  return {
    method,
    metadata: call.metadata,
    get peer() {
      return call.getPeer();
    },
    get signal() {
      return (controller ??= new AbortController()).signal;
    },
    timeLeftMs: () => {
      const deadline = call.getDeadline();
      const at = deadline instanceof Date ? deadline.getTime() : deadline;
      return at === Infinity ? Infinity : at - Date.now(); // grpc-js deadlines are wall-clock instants
    },
    done: () => call.removeListener("cancelled", onCancel),
  };
}

/**
 * Adapts a typed implementation to grpc-js. Every handler is wrapped so that a rejection or a
 * throw always becomes a status (grpc-js drops rejected promises of async handlers), and a
 * request that is not a valid message is answered INVALID_ARGUMENT. `fast`: hand-written codecs
 * by method local name (see `FastCodec`). O(methods).
 */
export function addTypedService<S extends GenService<GenServiceMethods>>(
  server: grpc.Server,
  service: S,
  impl: ServiceImpl<S>,
  onError: ErrorMapper,
  fast: Readonly<Record<string, FastCodec>> = {},
): void {
  const definition = serviceDefinition(service, fast);
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const path = definition[method.localName]!.path;
    const handler = (impl as Record<string, (...args: never[]) => Promise<unknown>>)[method.localName];
    if (!handler) throw new Error(`no handler for ${path}`);
    if (method.methodKind === "unary") {
      handlers[method.localName] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const context = contextOf(path, call);
        const request = call.request;
        let run: Promise<unknown>;
        try {
          run = request instanceof MalformedMessage
            ? Promise.reject(request)
            : (handler as UnaryHandler<DescMessage, DescMessage>)(request as never, context);
        } catch (err) {
          run = Promise.reject(err); // a handler that threw before its first await
        }
        run.then(
          (response) => {
            context.done();
            callback(null, response);
          },
          (err: unknown) => {
            context.done();
            callback(onError(err, context) as grpc.ServiceError);
          },
        );
      };
    } else if (method.methodKind === "bidi_streaming") {
      handlers[method.localName] = (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        const context = contextOf(path, call);
        Promise.resolve()
          .then(() => (handler as BidiHandler<DescMessage, DescMessage>)(call as never, context))
          .then(
            () => {
              if (!call.cancelled) call.end();
            },
            (err: unknown) => {
              if (!call.cancelled) call.emit("error", onError(err, context));
            },
          );
      };
    } else {
      throw new Error(`${path}: ${method.methodKind} methods are not supported`);
    }
  }
  server.addService(definition, handlers);
}
