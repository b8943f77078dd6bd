/** A source of the current time in milliseconds since the Unix epoch. Injected so tests never sleep. */
export interface Clock {
  now(): number;
}

/** The system wall clock (`Date.now()`). */
export const systemClock: Clock = { now: () => Date.now() };

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
