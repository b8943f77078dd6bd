/** Most keys one batch script names, so no script holds Redis for long. */
export const SCRIPT_CHUNK = 1_000;

/**
 * Runs `run` on consecutive chunks of at most SCRIPT_CHUNK items, one after another, and joins
 * the results in order. O(items) plus the scripts.
 */
export async function inChunks<I, R>(items: readonly I[], run: (chunk: readonly I[]) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  for (let from = 0; from < items.length; from += SCRIPT_CHUNK) out.push(...(await run(items.slice(from, from + SCRIPT_CHUNK))));
  return out;
}
