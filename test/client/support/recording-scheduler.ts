import type { Scheduler, TimerHandle } from "../../../src/client/scheduler.js";

/** A Scheduler whose timers fire on the next turn of the event loop, recording the waits asked for. */
export class RecordingScheduler implements Scheduler {
  /** Every `setTimeout` delay, in order. */
  readonly waits: number[] = [];

  now(): number {
    return Date.now();
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    this.waits.push(ms);
    return setImmediate(callback);
  }

  clearTimeout(handle: TimerHandle): void {
    clearImmediate(handle as NodeJS.Immediate);
  }
}
