/**
 * THE wait of end-to-end tests: polls `condition` every `everyMs` (10 ms) until it holds, for at
 * most `limitMs` (5 s), then throws naming `what` (and `detail()`, e.g. a log tail). Only for waiting on real I/O (a process
 * starting, a socket, pub/sub, a reconnect), never on domain time: that is a ManualScheduler's job.
 */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string,
  options: { limitMs?: number; everyMs?: number; detail?: () => string } = {},
): Promise<void> {
  const { limitMs = 5_000, everyMs = 10, detail } = options;
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting for ${what}${detail ? `: ${detail()}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
