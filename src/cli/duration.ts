const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration like `1500ms`, `60s`, `5m`, `1h` or `1m30s` into milliseconds; undefined when
 * the text is not one. O(length).
 */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, value, , unit] of trimmed.matchAll(/(\d+(\.\d+)?)(ms|s|m|h)/g)) total += Number(value) * UNITS[unit!]!;
  return Math.round(total);
}

/** Formats milliseconds as the shortest exact duration text (`60s`, `5m`, `1500ms`). */
export function formatDuration(ms: number): string {
  for (const unit of ["h", "m", "s"]) {
    if (ms >= UNITS[unit]! && ms % UNITS[unit]! === 0) return `${ms / UNITS[unit]!}${unit}`;
  }
  return `${ms}ms`;
}
