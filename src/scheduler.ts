import { systemClock } from "./clock.js";
import type { Clock, ManualClock } from "./clock.js";

/** An opaque timer returned by `Scheduler.setTimeout`. */
export type TimerHandle = unknown;

/**
 * Time and timers, injected everywhere keypool waits (the server's waiting acquires, sweepers and
 * durable upkeep; the client's backoff, holds and reconnects), so tests drive them by hand with
 * a `ManualScheduler` instead of sleeping. `now()` is the clock the timers follow.
 */
export interface Scheduler extends Clock {
  /** Calls `callback` once, `ms` (clamped to >= 0) after now. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a timer that fired or was cancelled is ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** setTimeout's longest delay; longer waits wake early and re-arm. */
const MAX_DELAY_MS = 2_147_483_647;

function nodeScheduler(keepsProcessAlive: boolean): Scheduler {
  return {
    now: () => systemClock.now(),
    setTimeout: (callback, ms) => {
      const timer = setTimeout(callback, Math.min(MAX_DELAY_MS, Math.max(0, ms)));
      return keepsProcessAlive ? timer : timer.unref();
    },
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  };
}

/** The steady system clock and Node's timers, ref'd: an active client hold keeps the process alive. */
export const systemScheduler: Scheduler = nodeScheduler(true);

/** The same, with unref'd timers: a server's background work never keeps a process alive by itself. */
export const backgroundScheduler: Scheduler = nodeScheduler(false);

interface ManualTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A Scheduler on a ManualClock: timers fire only inside `advance` or `runDue`, each at its own
 * instant, in order (ties in the order they were set). Share the clock with a store, a server
 * and a client, and all their time moves together. O(timers) per call: for tests.
 */
export class ManualScheduler implements Scheduler {
  private timers: ManualTimer[] = [];
  private nextId = 1;

  constructor(readonly clock: ManualClock) {}

  now(): number {
    return this.clock.now();
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.clock.now() + Math.max(0, ms), callback };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer due by then (and any they set) in order. */
  advance(ms: number): void {
    const target = this.clock.now() + ms;
    for (let due = this.nextDue(target); due; due = this.nextDue(target)) {
      if (due.at > this.clock.now()) this.clock.set(due.at);
      due.callback();
    }
    this.clock.set(target);
  }

  /**
   * `advance`, letting the event loop turn (promises settle, I/O callbacks run) after each timer,
   * as Node does between timers: for code that does async work between two timers due together.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    for (let due = this.nextDue(target); due; due = this.nextDue(target)) {
      if (due.at > this.clock.now()) this.clock.set(due.at);
      due.callback();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.clock.set(target);
  }

  /** Fires every timer due at the clock's current time (after the clock was moved directly). */
  runDue(): void {
    this.advance(0);
  }

  private nextDue(target: number): ManualTimer | undefined {
    let due: ManualTimer | undefined;
    for (const t of this.timers) if (t.at <= target && (!due || t.at < due.at || (t.at === due.at && t.id < due.id))) due = t;
    if (due) this.timers = this.timers.filter((t) => t !== due);
    return due;
  }
}

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
