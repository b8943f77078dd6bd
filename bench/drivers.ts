import type * as grpc from "@grpc/grpc-js";
import type { Recorder } from "./recorder.js";
import { wallMs } from "./recorder.js";

/** A safety cap on operations per loop, on top of the time window. */
const MAX_OPS_PER_LOOP = 5_000_000;
/** How long a stream may take to finish after its window closed before it is cancelled. */
const STREAM_GRACE_MS = 5_000;

/**
 * Runs `concurrency` closed loops of `op` (each awaits its previous call) until the recorder's
 * window closes. `op` resolves with the items it moved.
 */
export async function unaryLoops(rec: Recorder, concurrency: number, op: () => Promise<number>): Promise<void> {
  const loop = async (): Promise<void> => {
    for (let n = 0; n < MAX_OPS_PER_LOOP && rec.open(); n++) {
      const began = wallMs();
      try {
        rec.done(began, await op());
      } catch (err) {
        rec.failed(err, began);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

/** One request to put on a stream and the items it carries. */
export interface StreamItem<T> {
  readonly message: T;
  readonly items: number;
}

/**
 * Drives one bidi stream with up to `window` requests in flight, matching responses to requests
 * in order (both keypool's KeepAlive and etcd's LeaseKeepAlive answer in order). Half-closes
 * when the window closes and everything in flight is answered; resolves when the stream ends.
 */
export function pipelinedStream<T>(
  call: grpc.ClientDuplexStream<T, unknown>,
  rec: Recorder,
  window: number,
  next: () => StreamItem<T>,
): Promise<void> {
  return new Promise((resolve) => {
    const inFlight: { began: number; items: number }[] = [];
    let ended = false;
    let sent = 0;
    const guard = setTimeout(() => call.cancel(), Math.max(0, rec.end - wallMs()) + STREAM_GRACE_MS);
    const finish = (): void => {
      clearTimeout(guard);
      resolve();
    };
    const pump = (): void => {
      while (!ended && inFlight.length < window && rec.open() && sent < MAX_OPS_PER_LOOP) {
        const item = next();
        inFlight.push({ began: wallMs(), items: item.items });
        sent++;
        call.write(item.message);
      }
      if (!ended && inFlight.length === 0 && (!rec.open() || sent >= MAX_OPS_PER_LOOP)) {
        ended = true;
        call.end();
      }
    };
    call.on("data", () => {
      const first = inFlight.shift();
      if (first) rec.done(first.began, first.items);
      pump();
    });
    call.on("error", (err) => {
      if (!ended) rec.failed(err);
      ended = true;
    });
    call.on("status", finish);
    pump();
  });
}
