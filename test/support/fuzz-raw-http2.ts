import { once } from "node:events";
import * as http2 from "node:http2";
import fc from "fast-check";
import { pathOf } from "./fuzz-calls.js";

/** How a raw client walks away from an open KeepAlive stream. */
export type Abandon =
  /** The process dies: the TCP connection is torn down under the stream. */
  | "destroy-session"
  /** Dies mid-message: a length prefix promising more bytes than ever arrive. */
  | "destroy-mid-message"
  /** Resets just this stream (RST_STREAM CANCEL), the connection lives on. */
  | "reset-stream"
  /** Says goodbye (GOAWAY) with the stream still open, then dies. */
  | "goaway";

/** One abandoned stream: frames to send, whether to wait for an answer first, how to leave. */
export interface AbandonInput {
  readonly how: Abandon;
  readonly waitForAnswer: boolean;
  readonly requests: number;
}

/** Every way of leaving, before or after the server answered. */
export const abandonInput: fc.Arbitrary<AbandonInput> = fc.record({
  how: fc.constantFrom<Abandon>("destroy-session", "destroy-mid-message", "reset-stream", "goaway"),
  waitForAnswer: fc.boolean(),
  requests: fc.integer({ min: 1, max: 5 }),
});

/** A gRPC length-prefixed message frame. */
export function grpcFrame(body: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, 5);
  return frame;
}

/**
 * Opens a KeepAlive stream over a bare HTTP/2 session, sends `requests` copies of `body`, maybe
 * waits for the first answer, then leaves as `input.how` says. Resolves once the session is gone.
 */
export async function abandonStream(address: string, body: Uint8Array, input: AbandonInput): Promise<void> {
  const session = http2.connect(`http://${address}`);
  session.on("error", () => {});
  const closed = once(session, "close");
  const stream = session.request({
    ":method": "POST", ":path": pathOf("KeepAlive"), "content-type": "application/grpc", te: "trailers",
  });
  stream.on("error", () => {});
  for (let i = 0; i < input.requests; i++) stream.write(grpcFrame(body));
  if (input.waitForAnswer) await Promise.race([once(stream, "data"), once(stream, "close")]);
  switch (input.how) {
    case "destroy-session":
      session.destroy();
      break;
    case "destroy-mid-message": {
      const partial = grpcFrame(body.length > 0 ? body : new Uint8Array(10)).subarray(0, 5 + Math.max(1, body.length >> 1));
      stream.write(partial, () => session.destroy());
      break;
    }
    case "reset-stream":
      stream.close(http2.constants.NGHTTP2_CANCEL);
      await once(stream, "close");
      session.destroy();
      break;
    case "goaway":
      session.goaway(http2.constants.NGHTTP2_NO_ERROR);
      setImmediate(() => session.destroy());
      break;
  }
  // Whatever happened to the last write, the session is gone within two seconds.
  const fallback = setTimeout(() => session.destroy(), 2_000);
  await closed;
  clearTimeout(fallback);
}
