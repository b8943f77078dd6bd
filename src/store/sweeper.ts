import { performance } from "node:perf_hooks";
import type { Clock } from "../clock.js";

/** What a sweeper drives: bounded expiry work and the next deadline. */
export interface Sweepable {
  /** Does up to `budget` units of expiry work at `now`; returns the units done. */
  sweep(now: number, budget: number): number;
  /** The earliest pending deadline, if any. */
  nextDeadline(): number | undefined;
}

/** Units of expiry work between two checks of the time budget. */
const CHUNK = 512;
/** The longest one slice may hold the event loop. */
const SLICE_MS = 2;
/** setTimeout's longest delay. */
const MAX_DELAY_MS = 2_147_483_647;

/**
 * Reclaims expired keys in the background with ONE timer for the whole pool (never a timer per
 * key): it wakes at the earliest deadline, works in slices of at most ~2 ms, and yields to the
 * event loop (setImmediate) between slices, so a million keys expiring at once never stall
 * requests for more than a slice. Requests stay exact without it: it only reclaims memory.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires, on the monotonic clock (performance.now). */
  private timerDue = Infinity;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;

  /** `onSwept(done)` runs after every slice that did work (waiters learn of freed keys). */
  constructor(
    private readonly target: Sweepable,
    private readonly clock: Clock,
    private readonly onSwept: (done: number) => void = () => {},
  ) {}

  /**
   * Call after any change that may create a deadline, or after the clock jumped. Re-arms the
   * timer only when the next deadline is due sooner than the armed one. O(1).
   */
  poke(): void {
    if (this.closed || this.immediate) return;
    const next = this.target.nextDeadline();
    if (next === undefined) return;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, next - this.clock.now()));
    const due = performance.now() + delay;
    if (due >= this.timerDue) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => this.fire(), delay).unref();
  }

  /** Runs one slice now; returns the units of work done. For tests and shutdown. */
  runSlice(): number {
    const start = performance.now();
    let done = 0;
    for (;;) {
      const n = this.target.sweep(this.clock.now(), CHUNK);
      done += n;
      if (n < CHUNK || performance.now() - start >= SLICE_MS) return done;
    }
  }

  /** Stops all background work. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = this.immediate = undefined;
  }

  private fire(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    this.loop();
  }

  private loop(): void {
    this.immediate = undefined;
    if (this.closed) return;
    const done = this.runSlice();
    if (done > 0) this.onSwept(done);
    const next = this.target.nextDeadline();
    if (done > 0 && next !== undefined && next <= this.clock.now()) {
      this.immediate = setImmediate(() => this.loop());
      return;
    }
    this.poke();
  }
}
