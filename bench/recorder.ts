import { performance } from "node:perf_hooks";

/** Most latency samples one client keeps per run (a run is bounded in time anyway). */
const MAX_SAMPLES = 400_000;

/** Wall-clock milliseconds with sub-ms precision, comparable across processes on one machine. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** What one client reports for one run window. */
export interface RunReport {
  /** Operations completed inside the window (a pair counts once). */
  readonly ops: number;
  /** Items moved (keys through a stream; equals ops for unary workloads). */
  readonly items: number;
  readonly errors: Record<string, number>;
  readonly windowMs: number;
  /** Start time (wall ms) and latency (ms) of sampled operations, in completion order. */
  readonly starts: number[];
  readonly latencies: number[];
  /** Start time (wall ms) and status code of sampled failures. */
  readonly failures: [number, string][];
  /** This client process's CPU time (user + system) during the run, ms. */
  readonly cpuMs: number;
}

/**
 * Counts operations that complete inside [start, end) and keeps their latencies. O(1) per op.
 * Samples beyond MAX_SAMPLES are dropped (counted still).
 */
export class Recorder {
  private ops = 0;
  private items = 0;
  private readonly errors: Record<string, number> = {};
  private readonly starts: number[] = [];
  private readonly latencies: number[] = [];
  private readonly failures: [number, string][] = [];
  private readonly cpuAtStart = process.cpuUsage();

  constructor(
    readonly start: number,
    readonly end: number,
  ) {}

  /** Whether the window is still open. */
  open(): boolean {
    return wallMs() < this.end;
  }

  /** Records an operation that began at `began` (wall ms) and moved `items` items. */
  done(began: number, items = 1): void {
    const now = wallMs();
    if (began < this.start || now >= this.end) return;
    this.ops++;
    this.items += items;
    if (this.latencies.length < MAX_SAMPLES) {
      this.starts.push(began);
      this.latencies.push(now - began);
    }
  }

  /** Records an operation that began at `began` and failed, by its gRPC status code (or "other"). */
  failed(err: unknown, began = wallMs()): void {
    if (began < this.start) return;
    const code = String((err as { code?: unknown })?.code ?? "other");
    this.errors[code] = (this.errors[code] ?? 0) + 1;
    if (this.failures.length < MAX_SAMPLES) this.failures.push([began, code]);
  }

  report(): RunReport {
    return {
      ops: this.ops,
      items: this.items,
      errors: this.errors,
      windowMs: this.end - this.start,
      starts: this.starts,
      latencies: this.latencies,
      failures: this.failures,
      cpuMs: cpuMs(process.cpuUsage(this.cpuAtStart)),
    };
  }
}

/** User + system time of a CpuUsage, in ms. */
export function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

/** Waits until wall time `at`. */
export function sleepUntil(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - wallMs())));
}
