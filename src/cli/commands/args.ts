import { isKey, isLeaseId } from "../../pool/key-format.js";
import { messages } from "../../pool/rules.js";
import { parseDuration } from "../duration.js";
import { UsageError } from "../output.js";

/** `text` as a key; a UsageError that never echoes it otherwise. */
export function keyArg(text: string, what = "KEY"): string {
  if (isKey(text)) return text;
  throw new UsageError(messages.malformedKey(what, text.length));
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
