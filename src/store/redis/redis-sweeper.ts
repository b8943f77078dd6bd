import { backgroundScheduler } from "../../scheduler.js";
import type { Scheduler, TimerHandle } from "../../scheduler.js";

/** What one sweep step reports: work done, the time it judged by, the next deadline (-1: none). */
export interface SweepStep {
  readonly work: number;
  readonly now: number;
  readonly next: number;
}

/** Units of expiry work per sweep script: about a millisecond of Redis time. */
export const SWEEP_BUDGET = 256;
/** Steps run back to back before the sweeper lets a timer tick pass. */
const STEPS_PER_WAKE = 64;
/** The shortest pause between two wakes, so a clock mismatch can never spin. */
const MIN_DELAY_MS = 10;

/**
 * The background reclaimer of a Redis pool: one timer per server (never per key) that runs
 * bounded sweep steps while there is a backlog, then sleeps until the next deadline, at most
 * `maxIntervalMs`. Every step is one atomic script, so any number of servers may sweep the same
 * pool at once. Requests stay exact without it; it only bounds Redis memory and keeps stats exact.
 * Failures (Redis down) are ignored: the next wake tries again.
 */
export class RedisSweeper {
  private timer: TimerHandle | undefined;
  private closed = false;

  constructor(
    private readonly step: (budget: number) => Promise<SweepStep>,
    private readonly maxIntervalMs: number,
    /** Its wakes (default: real, unref'd timers). */
    private readonly scheduler: Scheduler = backgroundScheduler,
  ) {}

  /** Schedules the first wake. O(1). */
  start(): void {
    this.schedule(0);
  }

  /** Stops the timer; a step in flight finishes but schedules nothing. Idempotent. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = this.scheduler.setTimeout(() => void this.wake(), delayMs);
  }

  private async wake(): Promise<void> {
    let delay = this.maxIntervalMs;
    try {
      for (let i = 0; i < STEPS_PER_WAKE && !this.closed; i++) {
        const s = await this.step(SWEEP_BUDGET);
        if (s.work === SWEEP_BUDGET) {
          delay = 0;
          continue;
        }
        delay = s.next < 0 ? this.maxIntervalMs : Math.min(this.maxIntervalMs, Math.max(MIN_DELAY_MS, s.next - s.now));
        break;
      }
    } catch {
      delay = this.maxIntervalMs;
    }
    this.schedule(delay);
  }
}
