import type * as grpc from "@grpc/grpc-js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { KeepAliveRequest, KeepAliveResponseSchema } from "../../gen/keypool/v1/keypool_pb.js";
import type { CallContext } from "../grpc/typed-server.js";
import { MalformedMessage } from "../grpc/service-definition.js";
import type { FastCodec } from "../grpc/service-definition.js";
import { KeyPoolError, assertKey, assertLeaseId, isKey, isLeaseId } from "../pool/index.js";
import type { KeyStore } from "../store/key-store.js";
import { keepAliveResultMessage, leaseResultMessage } from "./convert.js";
import { decodeKeepAliveRequest } from "./keepalive-decoding.js";
import { encodeKeepAliveAnswer } from "./keepalive-encoding.js";
import type { ServerLimits } from "./limits.js";
import { limitReadAhead, readOne, writeFlushed } from "./stream-io.js";
import type { StreamRegistry } from "./stream-registry.js";

type Response = MessageInitShape<typeof KeepAliveResponseSchema>;
type Call = grpc.ServerDuplexStream<KeepAliveRequest | MalformedMessage, Response>;

/** What a KeepAlive stream works with. */
export interface KeepAliveDeps {
  /** The store of a request's `pool`; throws for a malformed pool or one the caller may not use. */
  readonly storeOf: (pool: string) => KeyStore;
  readonly streams: StreamRegistry;
  readonly limits: ServerLimits;
  /** Is this call still allowed (asked again after an auth reload)? undefined: yes; else why not. */
  readonly recheck: (context: CallContext) => Error | undefined;
}

/**
 * The KeepAlive stream's own codec: its requests and answers, byte for byte as the generic one
 * would make them, at a fraction of the cost (the generic one serves anything else).
 */
export const KEEPALIVE_CODEC: FastCodec = { decodeRequest: decodeKeepAliveRequest, encodeResponse: encodeKeepAliveAnswer };

const shuttingDown = (): KeyPoolError =>
  new KeyPoolError("unavailable", "the server is shutting down; reconnect and resume keepalives");

/**
 * The answer to one request: one result per key and one per lease, each in order. Every entry is
 * checked before anything changes. O(k) for k entries.
 */
async function answer(deps: KeepAliveDeps, request: KeepAliveRequest | MalformedMessage): Promise<Response> {
  if (request instanceof MalformedMessage) throw request;
  const { limits } = deps;
  const { keys, leases } = request;
  const store = deps.storeOf(request.pool);
  if (keys.length + leases.length > limits.maxKeepAliveKeys) {
    throw new KeyPoolError(
      "invalid-argument",
      `a KeepAliveRequest names at most ${limits.maxKeepAliveKeys} keys and leases (got ${keys.length + leases.length}); split it`,
    );
  }
  // The field names are built only for the message of a malformed entry.
  for (let i = 0; i < keys.length; i++) if (!isKey(keys[i]!)) assertKey(keys[i]!, `keys[${i}]`);
  for (let i = 0; i < leases.length; i++) {
    const { key, leaseId } = leases[i]!;
    if (!isKey(key)) assertKey(key, `leases[${i}].key`);
    if (!isLeaseId(leaseId)) assertLeaseId(leaseId, `leases[${i}].lease_id`);
  }
  const results = keys.length === 0 ? [] : await store.keepAliveMany(keys);
  const leaseResults = leases.length === 0 ? [] : await store.renewMany(leases);
  return { results: results.map(keepAliveResultMessage), leaseResults: leaseResults.map(leaseResultMessage) };
}

/**
 * Serves one KeepAlive stream: one response per request, in order, one result per key and one
 * per lease. Missing keys are `found: false`, refused renewals `renewed: false` with a reason
 * (neither ends the stream); a malformed request ends the stream with INVALID_ARGUMENT; the stream
 * ends OK on half-close, with UNAVAILABLE on shutdown, with the access error when an auth reload
 * no longer allows it, and silently when the client vanishes.
 *
 * Memory is bounded per stream whatever the client does: the next request is read only after
 * the previous response's bytes went into the client's flow-control window, and at most one
 * request is decoded ahead, so a client that never reads holds one request and one response
 * (about 0.3 MB with 1,000-key messages; see docs/operations.md). O(k) per request of k keys.
 */
export async function keepAliveStream(deps: KeepAliveDeps, call: Call, context: CallContext): Promise<void> {
  const { streams, limits } = deps;
  if (streams.size >= limits.maxStreams) {
    throw new KeyPoolError("resource-exhausted", `${streams.size} KeepAlive streams are open (limit --max-streams); reuse one stream per worker`);
  }
  limitReadAhead(call);
  const open = streams.enter(() => deps.recheck(context));
  const signal = AbortSignal.any([context.signal, streams.shutdown, open.revoked]);
  try {
    for (let request = await readOne(call, signal); request; request = await readOne(call, signal)) {
      await writeFlushed(call, await answer(deps, request), signal);
    }
    if (context.signal.aborted) return;
    if (open.revoked.aborted) throw open.revoked.reason;
    if (streams.shutdown.aborted) throw shuttingDown();
  } catch (err) {
    if (context.signal.aborted) return; // the client is gone: nobody to tell
    if (open.revoked.aborted) throw open.revoked.reason;
    if (streams.shutdown.aborted && (err as Error)?.name === "AbortError") throw shuttingDown();
    throw err;
  } finally {
    open.leave();
  }
}
