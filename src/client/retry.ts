import { KeyPoolClientError } from "./errors.js";
import { sleep } from "./scheduler.js";
import type { Scheduler } from "./scheduler.js";

/**
 * How a client retries calls that are safe to repeat, and how `hold()` reconnects its stream.
 * The wait before retry n (1-based) is between half and all of
 * `min(maxBackoffMs, initialBackoffMs × multiplier^(n−1))` (equal jitter).
 */
export interface RetryPolicy {
  /** Attempts per call, the first included; 1 disables retries. `hold()` reconnects forever. */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly multiplier: number;
}

/** 4 attempts, 100 ms doubling up to 2 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  initialBackoffMs: 100,
  maxBackoffMs: 2_000,
  multiplier: 2,
};

/** The wait before retry `n` (1-based): equal jitter over the capped exponential. O(1). */
export function backoffMs(n: number, policy: RetryPolicy, random: () => number): number {
  const cap = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.multiplier ** (n - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** How one call may be retried. */
export interface RetryContext {
  readonly policy: RetryPolicy;
  readonly scheduler: Scheduler;
  readonly random: () => number;
  /** Wall-clock deadline of the whole call, retries included (ms since the epoch). */
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
}

/**
 * Runs `attempt` until it succeeds, fails with anything but UNAVAILABLE, runs out of attempts,
 * or the next backoff would pass the call's deadline; rejects with the last error. `attempt`
 * gets the 1-based attempt number. Only call this for RPCs that are safe to repeat.
 */
export async function withRetries<T>(method: string, context: RetryContext, attempt: (n: number) => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (thrown) {
      const err = KeyPoolClientError.from(thrown, method);
      if (err.code !== "UNAVAILABLE" || n >= context.policy.maxAttempts) throw err;
      const wait = backoffMs(n, context.policy, context.random);
      if (Date.now() + wait >= context.deadline) throw err;
      try {
        await sleep(context.scheduler, wait, context.signal);
      } catch (abort) {
        throw KeyPoolClientError.from(abort, method);
      }
    }
  }
}
