import type { MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import * as grpc from "@grpc/grpc-js";
import { methodDefinition } from "./service-definition.js";

/** Per-call options of a typed client. */
export interface ClientCallOptions {
  /** Milliseconds until the call's deadline. */
  readonly timeoutMs?: number;
  readonly metadata?: grpc.Metadata;
  /** Cancels the call when aborted. */
  readonly signal?: AbortSignal;
}

/** A typed client: one promise method per unary RPC, one stream factory per bidi RPC. */
export type TypedClient<S> =
  S extends GenService<infer R extends GenServiceMethods>
    ? {
        [K in keyof R]: R[K]["methodKind"] extends "unary"
          ? (request: MessageInitShape<R[K]["input"]>, options?: ClientCallOptions) => Promise<MessageShape<R[K]["output"]>>
          : R[K]["methodKind"] extends "bidi_streaming"
            ? (options?: ClientCallOptions) => grpc.ClientDuplexStream<MessageInitShape<R[K]["input"]>, MessageShape<R[K]["output"]>>
            : never;
      } & {
        /** The underlying grpc-js client (channel state, waitForReady). */
        readonly grpc: grpc.Client;
        /** Closes the channel. */
        close(): void;
      }
    : never;

function callOptions(options: ClientCallOptions | undefined): grpc.CallOptions {
  return options?.timeoutMs === undefined ? {} : { deadline: Date.now() + options.timeoutMs };
}

/** Cancels `call` when `signal` aborts; the listener goes when the call ends (no leak per call). */
function cancelOnAbort(call: grpc.Call, signal: AbortSignal | undefined): void {
  if (!signal) return;
  if (signal.aborted) return call.cancel();
  const cancel = (): void => call.cancel();
  signal.addEventListener("abort", cancel, { once: true });
  call.once("status", () => signal.removeEventListener("abort", cancel));
}

/**
 * Makes a typed grpc-js client for a generated service: requests are type-checked message init
 * objects (a wrong field is a compile error), responses are typed messages, errors reject with a
 * grpc-js `ServiceError` carrying `code` and `details`.
 */
export function createTypedClient<S extends GenService<GenServiceMethods>>(
  service: S,
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  channelOptions: grpc.ChannelOptions = {},
): TypedClient<S> {
  const client = new grpc.Client(address, credentials, channelOptions);
  const stub: Record<string, unknown> = { grpc: client, close: () => client.close() };
  for (const method of service.methods) {
    const def = methodDefinition(method);
    if (method.methodKind === "unary") {
      stub[method.localName] = (request: object, options?: ClientCallOptions) =>
        new Promise((resolve, reject) => {
          const call = client.makeUnaryRequest(
            def.path, def.requestSerialize, def.responseDeserialize, request,
            options?.metadata ?? new grpc.Metadata(), callOptions(options),
            (err, response) => (err ? reject(err) : resolve(response)),
          );
          cancelOnAbort(call, options?.signal);
        });
    } else if (method.methodKind === "bidi_streaming") {
      stub[method.localName] = (options?: ClientCallOptions) => {
        const call = client.makeBidiStreamRequest(
          def.path, def.requestSerialize, def.responseDeserialize,
          options?.metadata ?? new grpc.Metadata(), callOptions(options),
        );
        cancelOnAbort(call, options?.signal);
        return call;
      };
    }
  }
  return stub as TypedClient<S>;
}


