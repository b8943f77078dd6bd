import type { Clock } from "../clock.js";

/** An opaque timer returned by `Scheduler.setTimeout`. */
export type TimerHandle = unknown;

/**
 * Time and timers for the client's own waiting (retry backoff, `hold()` ticks, reconnects).
 * Injected so tests drive them with a manual clock instead of sleeping. gRPC deadlines always
 * use the wall clock, because grpc-js enforces them.
 */
export interface Scheduler extends Clock {
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock and Node's timers. Timers are ref'd: an active hold keeps the process alive. */
export const systemScheduler: Scheduler = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Resolves after `ms` on `scheduler`; rejects with the signal's reason when `signal` aborts first. */
export function sleep(scheduler: Scheduler, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      scheduler.clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = scheduler.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
