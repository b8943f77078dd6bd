/** What the log destination writes to: process.stdout, or a stream in tests. */
export interface LogOutput {
  write(chunk: string, callback?: (err?: Error | null) => void): boolean;
  /** Bytes accepted but not yet handed to the OS (always 0 for a file or a terminal). */
  readonly writableLength: number;
  on(event: "error", listener: (err: Error) => void): unknown;
}

/** Most log bytes waiting for a slow reader before lines are dropped: about 3,000 lines. */
export const LOG_BUFFER_BYTES = 1024 * 1024;

/**
 * pino's destination for `keypool serve`: writes each line to `out` without ever blocking the
 * event loop or growing without bound. When the reader is slow or never reads (a pipe that is
 * full), lines past `maxBufferedBytes` waiting are dropped and counted, and the first line that
 * fits afterwards is preceded by one warning saying how many were lost. When the reader is gone
 * (EPIPE, or any write error), every later line is dropped and counted, silently. pino's own
 * destination (sonic-boom) instead retries a full or broken pipe forever, in a loop that blocks
 * the event loop, so SIGTERM was never handled. O(1) per line.
 */
export class LogDestination {
  /** Lines dropped since start: the reader was too slow, or gone. */
  dropped = 0;
  private unreported = 0;
  private broken = false;

  constructor(
    private readonly out: LogOutput,
    private readonly maxBufferedBytes = LOG_BUFFER_BYTES,
    private readonly now: () => number = Date.now,
  ) {
    out.on("error", () => {
      this.broken = true;
    });
  }

  /** Called by pino with one serialised line. */
  write(line: string): void {
    if (this.broken || this.out.writableLength + line.length > this.maxBufferedBytes) {
      this.dropped++;
      this.unreported++;
      return;
    }
    if (this.unreported > 0) {
      const notice = { level: 40, time: this.now(), dropped: this.unreported, msg: `${this.unreported} log lines dropped: the log reader was too slow` };
      this.unreported = 0;
      this.out.write(`${JSON.stringify(notice)}\n`);
    }
    this.out.write(line);
  }

  /** Resolves once every accepted line reached the OS, the reader is gone, or `timeoutMs` passed. */
  flush(timeoutMs: number): Promise<void> {
    if (this.broken || this.out.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.out.write("", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
