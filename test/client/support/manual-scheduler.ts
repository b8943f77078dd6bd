import type { ManualClock } from "../../../src/clock.js";
import type { Scheduler, TimerHandle } from "../../../src/client/scheduler.js";

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A Scheduler on a ManualClock: timers fire only inside `advance`, each at its own instant, in
 * order. Share the clock with a test server and client time and server time move together.
 */
export class ManualScheduler implements Scheduler {
  private timers: Timer[] = [];
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
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      if (due.at > this.clock.now()) this.clock.set(due.at);
      due.callback();
    }
    this.clock.set(target);
  }
}
