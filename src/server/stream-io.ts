import type * as grpc from "@grpc/grpc-js";

/**
 * Bounded reading and writing on a grpc-js bidirectional stream: together they keep a stream's
 * memory at one request being served plus one response in the transport, however fast the peer
 * sends and whether or not it ever reads.
 */
type Duplex<I, O> = grpc.ServerDuplexStream<I, O>;

/**
 * Makes `call` read ahead at most one message. grpc-js builds the stream in object mode with
 * Node's default high-water mark of 16, so a plain `read()` decodes up to 16 requests ahead of
 * the handler (16 x ~60 KB for 1,000-key requests). O(1).
 */
export function limitReadAhead(call: Duplex<unknown, unknown>): void {
  // grpc-js gives no option for this; Node keeps the mark in the readable state, read per read().
  const state = (call as unknown as { _readableState?: { highWaterMark?: unknown } })._readableState;
  if (typeof state?.highWaterMark === "number") state.highWaterMark = 1;
}

/**
 * Resolves with the next request, or undefined when the client half-closed, the stream closed or
 * `signal` aborted. Reads in paused mode, one message at a time, so a client that sends faster
 * than we answer is held back by HTTP/2 flow control instead of growing our memory. O(1).
 */
export function readOne<I>(call: Duplex<I, unknown>, signal: AbortSignal): Promise<I | undefined> {
  const first = call.read() as I | null;
  if (first !== null) return Promise.resolve(first);
  if (call.readableEnded || call.destroyed || signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const finish = (value: I | undefined): void => {
      call.off("readable", onReadable);
      call.off("end", onEnd);
      call.off("close", onEnd);
      signal.removeEventListener("abort", onEnd);
      resolve(value);
    };
    const onReadable = (): void => {
      const message = call.read() as I | null;
      if (message !== null) finish(message);
    };
    const onEnd = (): void => finish(undefined);
    call.on("readable", onReadable);
    call.once("end", onEnd);
    call.once("close", onEnd);
    signal.addEventListener("abort", onEnd, { once: true });
  });
}

/** A promise settled by a write callback, or rejected when `signal` aborts first. */
function writeOutcome(signal: AbortSignal): { readonly done: Promise<void>; readonly callback: (err?: Error | null) => void } {
  let callback!: (err?: Error | null) => void;
  const done = new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    callback = (err) => {
      signal.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve();
    };
  });
  return { done, callback };
}

/**
 * Writes `message` and resolves once its bytes are inside the peer's HTTP/2 flow-control window
 * (grpc-js calls back when nghttp2 has taken them), so a peer that never reads holds at most
 * this one response on the server. Rejects with `signal.reason` when `signal` aborts first and
 * with the transport's error if the write fails. O(size of the message).
 *
 * No closure here sees `message`: one that did (an abort listener, say) would keep the whole
 * response object alive until the peer reads, where only its serialized bytes need to stay.
 */
export function writeFlushed<O>(call: Duplex<unknown, O>, message: O, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  const { done, callback } = writeOutcome(signal);
  call.write(message, callback);
  return done;
}
