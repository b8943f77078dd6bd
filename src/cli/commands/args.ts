import { KeyPoolError } from "../../pool/errors.js";
import { assertKey, isLeaseId } from "../../pool/key-format.js";
import { parseDuration } from "../duration.js";
import { UsageError } from "../output.js";

/**
 * Runs `check`, turning the pool's INVALID_ARGUMENT into a UsageError in the same words (the
 * rules' messages, which never echo a key).
 */
export function asUsage(check: () => void): void {
  try {
    check();
  } catch (err) {
    throw err instanceof KeyPoolError ? new UsageError(err.message) : err;
  }
}

/** `text` as a key (generated or imported); a UsageError that never echoes it otherwise. */
export function keyArg(text: string, what = "KEY"): string {
  asUsage(() => assertKey(text, what));
  return text;
}

/** `text` as a lease id, or a UsageError. */
export function leaseArg(text: string): string {
  if (isLeaseId(text)) return text;
  throw new UsageError(`invalid --lease (got ${text.length} characters): a lease id is 24 characters of [A-Za-z0-9_-]`);
}

/** `text` as a whole number in [min, max], or a UsageError naming `flag`. */
export function integerArg(flag: string, text: string, min: number, max: number): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`invalid ${flag} "${text}": expected a whole number from ${min} to ${max}`);
  return n;
}

/** `text` as a duration in ms (`10s`, `1500ms`, `1m`), or a UsageError naming `flag`. */
export function durationArg(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`invalid ${flag} "${text}": expected a duration like 10s, 1500ms or 1m`);
  return ms;
}
