import { FIRST_PAGE, Int32Column, PAGE_SIZE } from "./columns.js";

/**
 * The free slots of one pool, in an array with each slot's position kept beside it: add, remove
 * and the pick of the i-th slot are O(1), so a uniformly random free key costs one random index.
 * The positions live in `pos`, a column indexed by slot that every pool of a slot table shares
 * (a slot belongs to one pool at a time); the array is the pool's own.
 */
export class FreeSet {
  /**
   * Positions [0, PAGE_SIZE) sit in ONE array held right here, the rest in a paged column: the
   * pick of a key in a pool of up to PAGE_SIZE free keys then costs the array and its cell, not
   * a column, its page list and a page (cold, one after another, when the pool was not used
   * lately). The array doubles from FIRST_PAGE (a copy of at most PAGE_SIZE cells), so growth is
   * O(1) amortized and O(page) at worst, like the columns'.
   */
  private first = new Int32Array(0);
  /** Positions from PAGE_SIZE on, at `position - PAGE_SIZE`. */
  private readonly more = new Int32Column();
  /** Free slots held. */
  size = 0;

  /** `pos` must be addressable for every slot this set will hold (the slot table reserves it). */
  constructor(private readonly pos: Int32Column) {}

  /** Makes room for `size` free slots. */
  reserve(size: number): void {
    const want = Math.min(size, PAGE_SIZE);
    if (this.first.length < want) {
      let cells = Math.max(FIRST_PAGE, this.first.length);
      while (cells < want) cells *= 2;
      const grown = new Int32Array(cells);
      grown.set(this.first);
      this.first = grown;
    }
    if (size > PAGE_SIZE) this.more.reserve(size - PAGE_SIZE);
  }

  /** The i-th free slot, 0 <= i < size. */
  at(i: number): number {
    return i < PAGE_SIZE ? this.first[i]! : this.more.get(i - PAGE_SIZE);
  }

  /** Adds `slot`, which must not be in the set. */
  add(slot: number): void {
    this.put(this.size, slot);
    this.pos.set(slot, this.size++);
  }

  /** Removes `slot`, which must be in the set (swap with the last). */
  remove(slot: number): void {
    const at = this.pos.get(slot);
    const last = this.at(--this.size);
    this.put(at, last);
    this.pos.set(last, at);
    this.pos.set(slot, -1);
  }

  private put(i: number, slot: number): void {
    if (i < PAGE_SIZE) this.first[i] = slot;
    else this.more.set(i - PAGE_SIZE, slot);
  }
}
