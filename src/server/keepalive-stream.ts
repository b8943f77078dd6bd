import { once } from "node:events";
import type * as grpc from "@grpc/grpc-js";
import type { KeepAliveRequest, KeepAliveResponse } from "../../gen/keypool/v1/keypool_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { KeepAliveResponseSchema } from "../../gen/keypool/v1/keypool_pb.js";
import type { CallContext } from "../grpc/typed-server.js";
import { MalformedMessage } from "../grpc/service-definition.js";
import { KeyPoolError } from "../pool/index.js";
import type { KeyStore } from "../store/key-store.js";
import { keepAliveResultMessage } from "./convert.js";
import type { ServerLimits } from "./limits.js";
import type { StreamRegistry } from "./stream-registry.js";


type Call = grpc.ServerDuplexStream<KeepAliveRequest | MalformedMessage, MessageInitShape<typeof KeepAliveResponseSchema>>;

/**
 * Resolves with the next request, or undefined when the client half-closed or `signal` aborted.
 * Reads in paused mode, one message at a time, so a client that sends faster than we answer is
 * held back by HTTP/2 flow control instead of growing our memory.
 */
function nextRequest(call: Call, signal: AbortSignal): Promise<KeepAliveRequest | MalformedMessage | undefined> {
  const first = call.read() as KeepAliveRequest | MalformedMessage | null;
  if (first !== null) return Promise.resolve(first);
  if (call.readableEnded || call.destroyed || signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const finish = (value: KeepAliveRequest | MalformedMessage | undefined): void => {
      call.off("readable", onReadable);
      call.off("end", onEnd);
      call.off("close", onEnd);
      signal.removeEventListener("abort", onEnd);
      resolve(value);
    };
    const onReadable = (): void => {
      const message = call.read() as KeepAliveRequest | MalformedMessage | null;
      if (message !== null) finish(message);
    };
    const onEnd = (): void => finish(undefined);
    call.on("readable", onReadable);
    call.once("end", onEnd);
    call.once("close", onEnd);
    signal.addEventListener("abort", onEnd, { once: true });
  });
}

/**
 * Serves one KeepAlive stream: one response per request, in order, one result per key. Missing
 * keys are `found: false`; a malformed request ends the stream with INVALID_ARGUMENT; a write
 * the transport cannot take yet waits for `drain`; the stream ends OK on half-close, with
 * UNAVAILABLE on shutdown, and silently when the client vanishes. O(k) per request of k keys.
 */
export async function keepAliveStream(
  deps: { readonly store: KeyStore; readonly streams: StreamRegistry; readonly limits: ServerLimits },
  call: Call,
  context: CallContext,
): Promise<void> {
  const { store, streams, limits } = deps;
  if (streams.size >= limits.maxStreams) {
    throw new KeyPoolError("resource-exhausted", `${streams.size} KeepAlive streams are open (limit --max-streams); reuse one stream per worker`);
  }
  const signal = AbortSignal.any([context.signal, streams.shutdown]);
  const leave = streams.enter();
  try {
    for (let request = await nextRequest(call, signal); request; request = await nextRequest(call, signal)) {
      if (request instanceof MalformedMessage) throw request;
      if (request.keys.length > limits.maxKeepAliveKeys) {
        throw new KeyPoolError(
          "invalid-argument",
          `a KeepAliveRequest names at most ${limits.maxKeepAliveKeys} keys (got ${request.keys.length}); split it`,
        );
      }
      const results = await store.keepAliveMany(request.keys);
      if (signal.aborted) break;
      const response: KeepAliveResponse | MessageInitShape<typeof KeepAliveResponseSchema> = {
        results: results.map(keepAliveResultMessage),
      };
      if (!call.write(response)) await once(call, "drain", { signal });
    }
    if (streams.shutdown.aborted && !context.signal.aborted) {
      throw new KeyPoolError("unavailable", "the server is shutting down; reconnect and resume keepalives");
    }
  } catch (err) {
    if (context.signal.aborted) return; // the client is gone: nobody to tell
    if (streams.shutdown.aborted && (err as Error)?.name === "AbortError") {
      throw new KeyPoolError("unavailable", "the server is shutting down; reconnect and resume keepalives");
    }
    throw err;
  } finally {
    leave();
  }
}
