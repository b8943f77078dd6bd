import { Int32Column } from "./columns.js";

/**
 * The free slots, in an array with each slot's position kept beside it: add, remove and the
 * pick of the i-th slot are O(1), so a uniformly random free key costs one random index.
 */
export class FreeSet {
  private readonly slots = new Int32Column();
  private readonly pos = new Int32Column();
  /** Free slots held. */
  size = 0;

  /** Makes slots [0, size) usable. */
  reserve(size: number): void {
    this.slots.reserve(size);
    this.pos.reserve(size);
  }

  /** The i-th free slot, 0 <= i < size. */
  at(i: number): number {
    return this.slots.get(i);
  }

  /** Adds `slot`, which must not be in the set. */
  add(slot: number): void {
    this.slots.set(this.size, slot);
    this.pos.set(slot, this.size++);
  }

  /** Removes `slot`, which must be in the set (swap with the last). */
  remove(slot: number): void {
    const at = this.pos.get(slot);
    const last = this.slots.get(--this.size);
    this.slots.set(at, last);
    this.pos.set(last, at);
    this.pos.set(slot, -1);
  }
}
