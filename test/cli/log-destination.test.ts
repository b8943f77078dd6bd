import { describe, expect, it } from "vitest";
import { LogDestination } from "../../src/cli/log-destination.js";
import type { LogOutput } from "../../src/cli/log-destination.js";

/** An output whose reader reads only when told: bytes stay "buffered" until `drain()`. */
class SlowReader implements LogOutput {
  written: string[] = [];
  writableLength = 0;
  private onError: ((err: Error) => void) | undefined;
  private callbacks: (() => void)[] = [];

  write(chunk: string, callback?: () => void): boolean {
    this.written.push(chunk);
    this.writableLength += chunk.length;
    if (callback) this.callbacks.push(callback);
    return true;
  }
  on(_event: "error", listener: (err: Error) => void): this {
    this.onError = listener;
    return this;
  }
  drain(): void {
    this.writableLength = 0;
    for (const cb of this.callbacks.splice(0)) cb();
  }
  breakPipe(): void {
    this.onError?.(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
  }
}

const line = (n: number): string => `${JSON.stringify({ level: 30, n, msg: "x".repeat(80) })}\n`;

describe("the log destination of keypool serve", () => {
  it("never holds more than its bound for a reader that does not read: later lines are dropped and counted", () => {
    const out = new SlowReader();
    const dest = new LogDestination(out, 1_000, () => 42);
    for (let n = 0; n < 100; n++) dest.write(line(n));
    expect(out.writableLength).toBeLessThanOrEqual(1_000);
    expect(out.written.length + dest.dropped).toBe(100);
    expect(dest.dropped).toBeGreaterThan(80);
  });

  it("tells how many lines were lost, once, when the reader catches up", () => {
    const out = new SlowReader();
    const dest = new LogDestination(out, 1_000, () => 42);
    for (let n = 0; n < 20; n++) dest.write(line(n));
    const dropped = dest.dropped;
    out.drain();
    dest.write(line(20));
    dest.write(line(21));
    const notice = JSON.parse(out.written.at(-3)!);
    expect(notice).toEqual({ level: 40, time: 42, dropped, msg: `${dropped} log lines dropped: the log reader was too slow` });
    expect(out.written.slice(-2)).toEqual([line(20), line(21)]);
  });

  it("after a broken pipe drops every line without writing, and flush does not wait", async () => {
    const out = new SlowReader();
    const dest = new LogDestination(out, 1_000);
    dest.write(line(0));
    out.breakPipe();
    dest.write(line(1));
    await dest.flush(60_000);
    expect([out.written.length, dest.dropped]).toEqual([1, 1]);
  });

  it("flush resolves when the reader has taken every line", async () => {
    const out = new SlowReader();
    const dest = new LogDestination(out, 1_000);
    dest.write(line(0));
    const flushed = dest.flush(60_000);
    out.drain();
    await flushed;
    expect(out.writableLength).toBe(0);
  });
});
