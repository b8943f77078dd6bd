import { KeyPoolError, MAX_IMPORT, assertKey, messages } from "../../pool/index.js";

/**
 * Checks an ImportKeys batch before any Redis call: 1 to MAX_IMPORT keys (INVALID_ARGUMENT), each
 * of the documented format (INVALID_ARGUMENT naming the first malformed `keys[i]`), then none repeated (ALREADY_EXISTS
 * naming the repeat and its first index). O(k).
 */
export function assertImport(keys: readonly string[]): void {
  if (keys.length < 1 || keys.length > MAX_IMPORT) throw new KeyPoolError("invalid-argument", messages.importCountOutOfRange(keys.length));
  keys.forEach((key, i) => assertKey(key, `keys[${i}]`));
  const first = new Map<string, number>();
  keys.forEach((key, i) => {
    const seen = first.get(key);
    if (seen !== undefined) throw new KeyPoolError("already-exists", messages.keyRepeated(`keys[${i}]`, `keys[${seen}]`));
    first.set(key, i);
  });
}
