import { KeyPoolError } from "./errors.js";
import { assertKey } from "./key-format.js";
import { MAX_IMPORT, messages } from "./rules.js";

/**
 * Checks an ImportKeys batch before anything is added (all or none): 1 to MAX_IMPORT keys, each
 * of the documented format (INVALID_ARGUMENT naming its index), none repeated within the batch
 * and none already held (`isHeld`, e.g. alive in the pool: ALREADY_EXISTS naming the index).
 * Messages never carry a key. Every store checks its batches with this. O(k) for k keys.
 */
export function checkImport(keys: readonly string[], isHeld: (key: string) => boolean): void {
  if (keys.length < 1 || keys.length > MAX_IMPORT) throw new KeyPoolError("invalid-argument", messages.importCountOutOfRange(keys.length));
  keys.forEach((key, i) => assertKey(key, `keys[${i}]`));
  const seen = new Map<string, number>();
  keys.forEach((key, i) => {
    const first = seen.get(key);
    if (first !== undefined) throw new KeyPoolError("already-exists", messages.keyRepeated(`keys[${i}]`, `keys[${first}]`));
    seen.set(key, i);
  });
  keys.forEach((key, i) => {
    if (isHeld(key)) throw new KeyPoolError("already-exists", messages.keyExists(`keys[${i}]`));
  });
}
