import type { Scheduler, TimerHandle } from "../scheduler.js";

/** What a sweeper drives: bounded expiry work and the next deadline. */
export interface Sweepable {
  /** Does up to `budget` units of expiry work at `now`; returns the units done. */
  sweep(now: number, budget: number): number;
  /** The earliest pending deadline, if any. */
  nextDeadline(): number | undefined;
}

/** Units of expiry work between two checks of the time budget. */
const CHUNK = 512;
/** The longest one slice may hold the event loop (CPU time, not domain time). */
const SLICE_MS = 2;

/**
 * Reclaims expired keys in the background with ONE timer for the whole pool (never a timer per
 * key): it wakes at the earliest deadline, works in slices of at most ~2 ms, and yields to the
 * event loop (a 0 ms timer) between slices, so a million keys expiring at once never stall
 * requests for more than a slice. Requests stay exact without it: it only reclaims memory and
 * tells waiters (`onSwept`) about blocks that ended. All timing goes through `scheduler`.
 */
export class Sweeper {
  private timer: TimerHandle | undefined;
  /** The deadline (scheduler time) the armed timer is for. */
  private timerDue = Infinity;
  /** True while a yield between two slices is pending. */
  private looping = false;
  private closed = false;

  /** `onSwept(done)` runs after every slice that did work (waiters learn of freed keys). */
  constructor(
    private readonly target: Sweepable,
    private readonly scheduler: Scheduler,
    private readonly onSwept: (done: number) => void = () => {},
  ) {}

  /**
   * Call after any change that may create a deadline, or after the clock jumped (a test's manual
   * clock). Re-arms the timer only when the next deadline is due sooner than the armed one, or
   * the armed one is already due. O(1).
   */
  poke(): void {
    if (this.closed || this.looping) return;
    const next = this.target.nextDeadline();
    if (next === undefined || (next >= this.timerDue && this.timerDue > this.scheduler.now())) return;
    if (this.timer !== undefined) this.scheduler.clearTimeout(this.timer);
    this.timerDue = next;
    this.timer = this.scheduler.setTimeout(() => this.fire(), next - this.scheduler.now());
  }

  /** Runs one slice now; returns the units of work done. For tests and shutdown. */
  runSlice(): number {
    const start = performance.now();
    let done = 0;
    for (;;) {
      const n = this.target.sweep(this.scheduler.now(), CHUNK);
      done += n;
      if (n < CHUNK || performance.now() - start >= SLICE_MS) return done;
    }
  }

  /** Stops all background work. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    this.loop();
  }

  private loop(): void {
    this.looping = false;
    if (this.closed) return;
    const done = this.runSlice();
    if (done > 0) this.onSwept(done);
    const next = this.target.nextDeadline();
    if (done > 0 && next !== undefined && next <= this.scheduler.now()) {
      this.looping = true;
      this.timer = this.scheduler.setTimeout(() => this.loop(), 0);
      return;
    }
    this.poke();
  }
}
