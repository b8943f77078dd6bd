import type { Float64Column } from "./columns.js";
import { Int32Column } from "./columns.js";

/**
 * The cooling slots in an indexed binary min-heap by cooldown deadline (etcd's lease heap with
 * each slot's position kept beside it, so removing or moving any slot is O(log n) with no stale
 * entries). Cooldowns are per request, so unlike blocks and lives they do not arrive in deadline
 * order and a FIFO list cannot hold them. Deadlines are read from `until` (the slot table's
 * column); change one only through `update`.
 */
export class CooldownHeap {
  /** heap[i] = slot at heap position i; grows with the heap (not with the slots: few keys cool). */
  private readonly heap = new Int32Column();
  /** Slots in the heap. */
  size = 0;
  private readonly pos: Int32Column;
  private readonly ownsPos: boolean;

  /**
   * `pos[slot]` holds a slot's heap position (-1 when not in the heap). Given, it is a column
   * shared with other heaps over the same slots (a slot table's), kept addressable by its owner;
   * absent, the heap makes and reserves its own.
   */
  constructor(
    private readonly until: Float64Column,
    pos?: Int32Column,
  ) {
    this.pos = pos ?? new Int32Column();
    this.ownsPos = pos === undefined;
  }

  /** With its own positions, makes slots [0, size) usable (shared positions are their owner's to reserve). */
  reserve(size: number): void {
    if (this.ownsPos) this.pos.reserve(size);
  }

  /** The slot with the earliest deadline, or -1. O(1). */
  get top(): number {
    return this.size === 0 ? -1 : this.heap.get(0);
  }

  /** Whether `slot` is in the heap. O(1). */
  has(slot: number): boolean {
    return this.pos.get(slot) !== -1;
  }

  /** Adds `slot` (not in the heap) by its current deadline. O(log n). */
  push(slot: number): void {
    this.heap.reserve(this.size + 1); // O(1) unless a page is added or the first one doubles
    const at = this.size++;
    this.put(at, slot);
    this.up(at);
  }

  /** Removes `slot`, which must be in the heap. O(log n). */
  remove(slot: number): void {
    const at = this.pos.get(slot);
    const last = this.heap.get(--this.size);
    this.pos.set(slot, -1);
    if (at === this.size) return;
    this.put(at, last);
    this.fix(at);
  }

  /** Restores the order after `slot`'s deadline changed (either way). O(log n). */
  update(slot: number): void {
    this.fix(this.pos.get(slot));
  }

  private fix(at: number): void {
    if (at > 0 && this.deadline(at) < this.deadline((at - 1) >> 1)) this.up(at);
    else this.down(at);
  }

  private up(at: number): void {
    const slot = this.heap.get(at);
    const d = this.until.get(slot);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (this.deadline(parent) <= d) break;
      this.put(at, this.heap.get(parent));
      at = parent;
    }
    this.put(at, slot);
  }

  private down(at: number): void {
    const slot = this.heap.get(at);
    const d = this.until.get(slot);
    for (;;) {
      const left = 2 * at + 1;
      if (left >= this.size) break;
      const right = left + 1;
      const child = right < this.size && this.deadline(right) < this.deadline(left) ? right : left;
      if (this.deadline(child) >= d) break;
      this.put(at, this.heap.get(child));
      at = child;
    }
    this.put(at, slot);
  }

  private deadline(at: number): number {
    return this.until.get(this.heap.get(at));
  }

  private put(at: number, slot: number): void {
    this.heap.set(at, slot);
    this.pos.set(slot, at);
  }
}
