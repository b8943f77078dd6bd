/** Small statistics helpers for benchmark samples. Pure functions, no I/O. */

/** The median of `values` (0 for none). O(n log n). */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/**
 * The `p`-th percentile (0..100) of `values` by the nearest-rank method (0 for none).
 * O(n log n): it sorts a copy.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return percentileOfSorted(sorted, p);
}

/** The `p`-th percentile of already sorted samples. O(1). */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Latency summary in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Summarises latency samples (ms). O(n log n). */
export function summarize(samplesMs: readonly number[] | Float64Array): LatencySummary {
  const sorted = Float64Array.from(samplesMs).sort();
  return {
    count: sorted.length,
    p50Ms: round(percentileOfSorted(sorted, 50), 3),
    p99Ms: round(percentileOfSorted(sorted, 99), 3),
    maxMs: round(sorted.length ? sorted[sorted.length - 1]! : 0, 3),
  };
}

/** Rounds to `digits` decimals (for readable JSON). */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
