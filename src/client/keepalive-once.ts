import type { MessageInitShape } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import type { KeepAliveRequestSchema, KeepAliveResponse } from "../../gen/keypool/v1/keypool_pb.js";
import { isKey } from "../pool/key-format.js";
import { messages } from "../pool/rules.js";
import { keepAliveOutcome } from "./convert.js";
import { KeyPoolClientError } from "./errors.js";
import { KEYS_PER_KEEPALIVE } from "./keeper.js";
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
 * Keeps `keys` alive once over a fresh KeepAlive stream: writes them in requests of at most
 * 1000, half-closes, and resolves with one outcome per key, in order, when the stream ends OK.
 * O(k) for k keys.
 */
export function keepAliveOnce(stream: Stream, keys: readonly string[]): Promise<KeepAliveOutcome[]> {
  return new Promise((resolve, reject) => {
    const outcomes: KeepAliveOutcome[] = [];
    stream.on("data", (response: KeepAliveResponse) => outcomes.push(...response.results.map(keepAliveOutcome)));
    stream.on("error", (err) => reject(err));
    stream.on("status", (status: grpc.StatusObject) => {
      if (status.code === 0) resolve(outcomes);
    });
    for (let i = 0; i < keys.length; i += KEYS_PER_KEEPALIVE) stream.write({ keys: keys.slice(i, i + KEYS_PER_KEEPALIVE) });
    stream.end();
  });
}
