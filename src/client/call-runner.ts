import type { ClientCallOptions } from "../grpc/typed-client.js";
import type { ResolvedOptions } from "./options.js";
import { withRetries } from "./retry.js";
import type { CallOptions } from "./types.js";

/** One attempt of a call, with the options grpc-js gets (deadline left, metadata, signal) and its 1-based number. */
export type Attempt<T> = (callOptions: ClientCallOptions, attempt: number) => Promise<T>;

/** Runs one RPC of a client: `run(method, retry, options, attempt)`. */
export type CallRunner = <T>(method: string, retry: boolean, options: CallOptions | undefined, run: Attempt<T>) => Promise<T>;

/**
 * The call runner of a client: one deadline spanning every attempt of a call (the call's
 * `timeoutMs`, else the client's default), retried on UNAVAILABLE only when `retry`, cancelled
 * by the caller's signal. Every failure rejects with a KeyPoolClientError. O(1) per attempt.
 */
export function callRunner(options: ResolvedOptions): CallRunner {
  return (method, retry, callOptions, run) => {
    const deadline = Date.now() + (callOptions?.timeoutMs ?? options.defaultTimeoutMs);
    const policy = retry ? options.retry : { ...options.retry, maxAttempts: 1 };
    const { scheduler, random } = options;
    const signal = callOptions?.signal;
    return withRetries(method, { policy, scheduler, random, deadline, signal }, async (attempt) => {
      // A signal of its own per attempt, so a long-lived caller signal collects no listeners.
      const controller = new AbortController();
      const abort = (): void => controller.abort(signal?.reason);
      if (signal?.aborted) abort();
      signal?.addEventListener("abort", abort, { once: true });
      try {
        const timeoutMs = Math.max(1, deadline - Date.now());
        return await run({ timeoutMs, metadata: options.metadata(), signal: controller.signal }, attempt);
      } finally {
        signal?.removeEventListener("abort", abort);
      }
    });
  };
}
