import { keyHash } from "./key-format.js";

/**
 * An open-addressing hash index from key string to slot number, sized once from the pool's
 * capacity so it never rehashes: lookup, insert and delete are O(1) expected and no request ever
 * pays for a rehash of the whole pool (a JS `Map` rehashes all entries as it grows).
 *
 * Linear probing with backward-shift deletion (no tombstones); load factor <= 0.5 at capacity.
 * Memory: 8 bytes per key of capacity.
 */
export class KeyIndex {
  private readonly table: Int32Array;
  private readonly mask: number;

  /** `keyOf(slot)` returns the key stored in a slot; the index keeps slots only. */
  constructor(
    capacity: number,
    private readonly keyOf: (slot: number) => string,
  ) {
    let size = 1024;
    while (size < capacity * 2) size *= 2;
    this.table = new Int32Array(size);
    this.mask = size - 1;
  }

  /** The slot of `key`, or -1. `key` must be well-formed. */
  find(key: string): number {
    const table = this.table;
    for (let i = keyHash(key) & this.mask; ; i = (i + 1) & this.mask) {
      const entry = table[i]!;
      if (entry === 0) return -1;
      if (this.keyOf(entry - 1) === key) return entry - 1;
    }
  }

  /** Adds `slot`, whose key must not be in the index yet. */
  insert(slot: number): void {
    const table = this.table;
    let i = keyHash(this.keyOf(slot)) & this.mask;
    while (table[i] !== 0) i = (i + 1) & this.mask;
    table[i] = slot + 1;
  }

  /** Removes `slot`, which must be in the index. */
  remove(slot: number): void {
    const table = this.table;
    const mask = this.mask;
    let hole = keyHash(this.keyOf(slot)) & mask;
    while (table[hole] !== slot + 1) hole = (hole + 1) & mask;
    // Shift back every later entry of the run whose home lies at or before the hole, so that
    // lookups never stop early at the emptied cell.
    for (let j = (hole + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = keyHash(this.keyOf(table[j]! - 1)) & mask;
      const movable = hole <= j ? home <= hole || home > j : home <= hole && home > j;
      if (movable) {
        table[hole] = table[j]!;
        hole = j;
      }
    }
    table[hole] = 0;
  }
}
