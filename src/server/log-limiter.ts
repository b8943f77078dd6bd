import type { Logger } from "pino";
import type { Clock } from "../clock.js";

/** How many per-call lines may be written per window, and how long a window is. */
export interface LogLimit {
  readonly lines: number;
  readonly windowMs: number;
}

/** The default: at most 50 per-call lines a second; a flood of refused calls costs a summary. */
export const DEFAULT_LOG_LIMIT: LogLimit = { lines: 50, windowMs: 1_000 };

/**
 * A fixed-window limit on per-call log lines (refused and failed calls), so a flood of refused
 * calls cannot turn into a flood of log lines: past `lines` per window, lines are dropped and
 * counted, and the first line written in a later window (or `flush()`) is preceded by one `warn`
 * summary saying how many were dropped, by code. Lines of a disabled level cost nothing. Time
 * comes from the injected clock. O(1) per line.
 */
export class LogLimiter {
  private windowStart = Number.NEGATIVE_INFINITY;
  private written = 0;
  private dropped = new Map<string, number>();

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly limit: LogLimit,
    private readonly onDrop: () => void,
  ) {}

  /** Writes one per-call line at `level`, unless this window's budget is spent. */
  write(level: "debug" | "info" | "warn", fields: { readonly code: string } & Record<string, unknown>, msg: string): void {
    if (!this.log.isLevelEnabled(level)) return;
    const now = this.clock.now();
    if (now - this.windowStart >= this.limit.windowMs) {
      this.flush();
      this.windowStart = now;
      this.written = 0;
    }
    if (this.written >= this.limit.lines) {
      this.dropped.set(fields.code, (this.dropped.get(fields.code) ?? 0) + 1);
      this.onDrop();
      return;
    }
    this.written++;
    this.log[level](fields, msg);
  }

  /** Writes the summary of lines dropped since the last one, if any (also at shutdown). */
  flush(): void {
    if (this.dropped.size === 0) return;
    const byCode = Object.fromEntries(this.dropped);
    const total = [...this.dropped.values()].reduce((a, b) => a + b, 0);
    this.dropped = new Map();
    this.log.warn(
      { dropped: total, byCode, limit: `${this.limit.lines} per ${this.limit.windowMs} ms` },
      `${total} per-call log lines dropped by the rate limit (keypool_log_lines_dropped_total counts them)`,
    );
  }
}
