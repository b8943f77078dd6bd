import { readFileSync } from "node:fs";

/** Cumulative CPU time of the whole machine from /proc/stat, in ms (busy and total). */
export interface CpuTimes {
  readonly busyMs: number;
  readonly totalMs: number;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** The machine's CPU counters now; zeros where /proc/stat is missing (not Linux). */
export function cpuTimes(): CpuTimes {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busyMs: (total - idle) * TICK_MS, totalMs: total * TICK_MS };
  } catch {
    return { busyMs: 0, totalMs: 0 };
  }
}

/**
 * How busy the machine was between two readings, and how much of that was not ours:
 * `oursMs` is the CPU time our own processes reported for the same interval.
 */
export function foreignShare(a: CpuTimes, b: CpuTimes, oursMs: number): { busy: number; foreign: number } {
  const total = b.totalMs - a.totalMs;
  if (total <= 0) return { busy: 0, foreign: 0 };
  const busy = b.busyMs - a.busyMs;
  return { busy: Math.round((busy / total) * 100) / 100, foreign: Math.max(0, Math.round(((busy - oursMs) / total) * 100) / 100) };
}

/** Busy share (0..1) under which the machine counts as quiet. */
const QUIET = 0.15;

/**
 * Waits until the machine's CPU was less than 15% busy over one 500 ms sample (our own
 * processes idle between windows), for at most `maxWaitMs`: other people's work on a shared
 * 2-core machine otherwise lands inside a measurement. Resolves with the wait in ms and
 * whether the machine became quiet.
 */
export async function waitForQuiet(maxWaitMs: number): Promise<{ waitedMs: number; quiet: boolean }> {
  const started = Date.now();
  for (;;) {
    const a = cpuTimes();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const b = cpuTimes();
    const busy = b.totalMs > a.totalMs ? (b.busyMs - a.busyMs) / (b.totalMs - a.totalMs) : 0;
    if (busy < QUIET) return { waitedMs: Date.now() - started, quiet: true };
    if (Date.now() - started >= maxWaitMs) return { waitedMs: Date.now() - started, quiet: false };
  }
}
