import type { MessageInitShape } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import type { KeepAliveRequestSchema, KeepAliveResponse } from "../../gen/keypool/v1/keypool_pb.js";
import { isKey } from "../pool/key-format.js";
import { isPoolName, messages } from "../pool/rules.js";
import { keepAliveOutcome } from "./convert.js";
import { KeyPoolClientError } from "./errors.js";
import { keepAliveBatches } from "./keepalive-batches.js";
import type { KeepAliveOutcome } from "./types.js";

type Stream = grpc.ClientDuplexStream<MessageInitShape<typeof KeepAliveRequestSchema>, KeepAliveResponse>;

/**
 * Throws INVALID_ARGUMENT naming the first malformed key by position (never by value): one bad
 * key would otherwise end a whole KeepAlive stream. O(k).
 */
export function assertKeys(keys: readonly string[], method: string): void {
  const bad = keys.findIndex((key) => !isKey(key));
  if (bad === -1) return;
  throw new KeyPoolClientError(
    "INVALID_ARGUMENT",
    method,
    messages.malformedKey(`keys[${bad}]`, keys[bad]!.length),
  );
}

/**
 * Throws INVALID_ARGUMENT unless `pool` is "" (the server's default pool) or a well-formed pool
 * name: a bad one would otherwise end a whole KeepAlive stream. O(1).
 */
export function assertPool(pool: string, method: string): void {
  if (pool === "" || isPoolName(pool)) return;
  throw new KeyPoolClientError("INVALID_ARGUMENT", method, messages.invalidPoolName(pool));
}

/**
 * Keeps `keys` of `pool` alive once over a fresh KeepAlive stream: writes them in requests of at
 * most 1000, half-closes, and resolves with one outcome per key, in order, when the stream ends OK.
 * O(k) for k keys.
 */
export function keepAliveOnce(stream: Stream, pool: string, keys: readonly string[]): Promise<KeepAliveOutcome[]> {
  return new Promise((resolve, reject) => {
    const outcomes: KeepAliveOutcome[] = [];
    stream.on("data", (response: KeepAliveResponse) => outcomes.push(...response.results.map(keepAliveOutcome)));
    stream.on("error", (err) => reject(err));
    stream.on("status", (status: grpc.StatusObject) => {
      if (status.code === 0) resolve(outcomes);
    });
    for (const batch of keepAliveBatches(keys.map((key) => ({ pool, key })))) stream.write(batch);
    stream.end();
  });
}
