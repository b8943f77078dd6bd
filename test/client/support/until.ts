/** Polls `condition` every 10 ms (I/O settling, not domain time) for up to `limitMs` (5 s). */
export async function until(condition: () => boolean, what: string, limitMs = 5_000): Promise<void> {
  for (let i = 0; i < limitMs / 10 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}
