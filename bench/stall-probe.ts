import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import type { IntervalHistogram } from "node:perf_hooks";

/** How often the drift probe asks to run. */
const TICK_MS = 1;
/** Stalls longer than this are kept with their time, to place them before, in or after a storm. */
const KEEP_OVER_MS = 3;

/**
 * A stall of the event loop: when it ended (wall ms), how long the loop was late (ms), and how
 * much CPU the process burned meanwhile (ms, capped at the stall): a stall with little CPU is
 * the OS running someone else (a busy shared machine), not work of ours.
 */
export interface Stall {
  readonly at: number;
  readonly ms: number;
  readonly cpuMs: number;
}

/**
 * Measures event-loop stalls two ways: a 1 ms timer chain that records how late each tick ran
 * (with timestamps, so stalls can be assigned to phases), and perf_hooks'
 * monitorEventLoopDelay as a cross-check. Both run until `stop`.
 */
export class StallProbe {
  private readonly stalls: Stall[] = [];
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 });
  private timer: NodeJS.Timeout | undefined;
  private expected = 0;
  private cpu = process.cpuUsage();

  start(): void {
    this.histogram.enable();
    this.schedule();
  }

  /** Stalls over the keep threshold that ended in [from, to). */
  between(from: number, to: number): Stall[] {
    return this.stalls.filter((s) => s.at >= from && s.at < to);
  }

  /** monitorEventLoopDelay's max since the last reset (ms), then resets it. */
  histogramMaxMs(): number {
    const max = this.histogram.max / 1e6;
    this.histogram.reset();
    return max;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.histogram.disable();
  }

  private schedule(): void {
    this.expected = performance.now() + TICK_MS;
    this.timer = setTimeout(() => {
      const late = performance.now() - this.expected;
      const cpu = process.cpuUsage();
      if (late > KEEP_OVER_MS && this.stalls.length < 100_000) {
        const cpuMs = (cpu.user - this.cpu.user + cpu.system - this.cpu.system) / 1000;
        this.stalls.push({ at: performance.timeOrigin + performance.now(), ms: late, cpuMs: Math.min(late, cpuMs) });
      }
      this.cpu = cpu;
      this.schedule();
    }, TICK_MS);
  }
}
