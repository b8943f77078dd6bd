/** A source of the current time in milliseconds since the Unix epoch. Injected so tests never sleep. */
export interface Clock {
  now(): number;
}

/** Where a steady clock reads the time: the wall clock and a monotonic one (any origin). */
export interface TimeSources {
  /** Wall time, ms since the Unix epoch (`Date.now`). Read once, at the start. */
  readonly wall: () => number;
  /** Monotonic time, ms from any origin (`performance.now`): never steps, never goes back. */
  readonly monotonic: () => number;
}

/**
 * A clock that reads the wall once and then follows the monotonic clock: now = wall time at
 * start + monotonic time elapsed since. A wall-clock step (NTP, an operator, a VM resume) moves
 * no running deadline: a 60 s block lasts 60 s of elapsed time whatever the wall does meanwhile.
 * Answers still carry epoch timestamps; they drift from the wall only by the monotonic clock's
 * rate error (ppm: well under a second a day) until the next start. Whole milliseconds, never
 * decreasing. O(1) per read.
 */
export function steadyClock(sources: TimeSources): Clock {
  const offset = sources.wall() - sources.monotonic();
  // Whole milliseconds, as Date.now gives: every timestamp keypool sends is an integer ms.
  return { now: () => Math.floor(offset + sources.monotonic()) };
}

/** The clock every server deadline follows: `steadyClock` over `Date.now` and `performance.now`. */
export const systemClock: Clock = steadyClock({ wall: () => Date.now(), monotonic: () => performance.now() });

/**
 * A clock that only moves when told to, for deterministic tests.
 * Invariant: time never goes backwards.
 */
export class ManualClock implements Clock {
  constructor(private time = 1_700_000_000_000) {}

  now(): number {
    return this.time;
  }

  /** Moves time forward by `ms` milliseconds. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError("a ManualClock never goes backwards");
    this.time += ms;
  }

  /** Sets the time to `ms`, which must not be in the past. */
  set(ms: number): void {
    this.advance(ms - this.time);
  }
}
