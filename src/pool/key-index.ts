import { keyHash } from "./key-format.js";

/** Cells of a new index: small, so a thousand mostly empty pools cost little. */
export const INITIAL_CELLS = 64;
/** Old-table cells moved per insert while growing: enough to finish before the new table fills. */
const MIGRATE_STEP = 8;
/** An old-table cell whose entry moved out (or was removed) while growing. */
const MOVED = -1;

/** Spreads an owner number over the hash bits (0 leaves the key's hash as it is). */
const OWNER_MIX = 0x9e3779b1;

/**
 * An open-addressing hash index from (key string, owner) to slot number, so one index serves
 * every pool of a slot table (the owner is the pool; the same key may live in two pools), that
 * grows by INCREMENTAL rehash:
 * when the table is half full, a table twice the size takes every new entry, and each insert
 * moves the next MIGRATE_STEP cells of the old table over, so no request ever pays for a rehash
 * of the whole pool (a JS `Map` rehashes all entries in one call as it grows). Lookups probe the
 * new table, then the old one while it drains: O(1) expected throughout.
 *
 * Linear probing with backward-shift deletion in the current table; the draining old table only
 * loses entries, marking their cells MOVED so its probe runs stay intact. Growth math: the old
 * table of C cells holds C/2 entries when growth starts, the new one (2C cells) grows again at C
 * entries, so at least C/2 inserts pass in between: C / MIGRATE_STEP of them drain the old table.
 * Memory: 4 bytes per cell, 8 to 16 per key (up to 24 while growing).
 */
export class KeyIndex {
  private table: Int32Array;
  private mask: number;
  /** Entries in `table`. */
  private count = 0;
  /** The table being drained into `table`, or undefined. */
  private old: Int32Array | undefined;
  private oldMask = 0;
  /** The next old-table cell to move. */
  private migrated = 0;

  /**
   * `keyOf(slot)` returns the key stored in a slot and `ownerOf(slot)` its owner (the index keeps
   * slots only); `hash` spreads keys (tests pass one whose collisions they control); `cells` is
   * the first table's size, a power of two.
   */
  constructor(
    private readonly keyOf: (slot: number) => string,
    private readonly hash: (key: string) => number = keyHash,
    cells = INITIAL_CELLS,
    private readonly ownerOf: (slot: number) => number = () => 0,
  ) {
    this.table = new Int32Array(cells);
    this.mask = cells - 1;
  }

  /** Keys indexed. O(1). */
  get size(): number {
    return this.count + this.oldCount;
  }

  /** Whether an old table is still being drained (for tests). O(1). */
  get growing(): boolean {
    return this.old !== undefined;
  }

  /** Entries still in the old table. */
  private oldCount = 0;

  /** The slot of `key` in `owner`, or -1. O(1) expected. */
  find(key: string, owner = 0): number {
    const h = this.hash(key) ^ Math.imul(owner, OWNER_MIX);
    const found = this.probe(this.table, this.mask, h, key, owner);
    if (found !== -1 || this.old === undefined) return found;
    return this.probe(this.old, this.oldMask, h, key, owner);
  }

  /** Adds `slot`, whose key must not be in the index yet. O(1) expected, plus MIGRATE_STEP cells while growing. */
  insert(slot: number): void {
    if (this.old !== undefined) this.migrate();
    else if ((this.count + 1) * 2 > this.table.length) this.grow();
    this.place(slot, this.hashOf(slot));
    this.count++;
  }

  /** Removes `slot`, which must be in the index. O(1) expected. */
  remove(slot: number): void {
    const h = this.hashOf(slot);
    if (this.old !== undefined) {
      for (let i = h & this.oldMask; this.old[i] !== 0; i = (i + 1) & this.oldMask) {
        if (this.old[i] === slot + 1) {
          this.old[i] = MOVED;
          this.oldCount--;
          return;
        }
      }
    }
    this.unplace(slot, h);
    this.count--;
  }

  /** The hash of the entry in `slot`: its key's, mixed with its owner. */
  private hashOf(slot: number): number {
    return this.hash(this.keyOf(slot)) ^ Math.imul(this.ownerOf(slot), OWNER_MIX);
  }

  private probe(table: Int32Array, mask: number, h: number, key: string, owner: number): number {
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const entry = table[i]!;
      if (entry === 0) return -1;
      if (entry > 0 && this.keyOf(entry - 1) === key && this.ownerOf(entry - 1) === owner) return entry - 1;
    }
  }

  private place(slot: number, h: number): void {
    const table = this.table;
    let i = h & this.mask;
    while (table[i] !== 0) i = (i + 1) & this.mask;
    table[i] = slot + 1;
  }

  private unplace(slot: number, h: number): void {
    const table = this.table;
    const mask = this.mask;
    let hole = h & mask;
    while (table[hole] !== slot + 1) hole = (hole + 1) & mask;
    // Shift back every later entry of the run whose home lies at or before the hole, so that
    // lookups never stop early at the emptied cell.
    for (let j = (hole + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = this.hashOf(table[j]! - 1) & mask;
      const movable = hole <= j ? home <= hole || home > j : home <= hole && home > j;
      if (movable) {
        table[hole] = table[j]!;
        hole = j;
      }
    }
    table[hole] = 0;
  }

  /** Starts draining the full table into one twice its size. O(new table) to allocate (zeroed memory). */
  private grow(): void {
    this.old = this.table;
    this.oldMask = this.mask;
    this.oldCount = this.count;
    this.migrated = 0;
    this.table = new Int32Array(this.old.length * 2);
    this.mask = this.table.length - 1;
    this.count = 0;
  }

  /** Moves the next MIGRATE_STEP old cells into the current table; drops the old one once empty. */
  private migrate(): void {
    const old = this.old!;
    const end = Math.min(old.length, this.migrated + MIGRATE_STEP);
    for (let i = this.migrated; i < end; i++) {
      const entry = old[i]!;
      if (entry <= 0) continue;
      old[i] = MOVED;
      this.place(entry - 1, this.hashOf(entry - 1));
      this.oldCount--;
      this.count++;
    }
    this.migrated = end;
    if (end === old.length) this.old = undefined;
  }
}
