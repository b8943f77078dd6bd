import type { Int32Column } from "./columns.js";

/**
 * An intrusive doubly-linked list of one pool's slots in deadline order. Because a pool's TTL is fixed and
 * its time never goes backwards, appending at the tail keeps the list sorted by deadline: the
 * head is always the next slot to expire (the FIFO form of etcd's lease heap). Append, unlink
 * and move-to-tail are O(1); no stale entries are ever left behind.
 */
export class DeadlineList {
  /** The slot with the earliest deadline, or -1. */
  head = -1;
  /** The slot with the latest deadline, or -1. */
  tail = -1;
  /** Slots in the list. */
  size = 0;

  /**
   * The links live in `prev` and `next`, columns indexed by slot that every pool of a slot table
   * shares (a slot belongs to one pool, and is in at most one list of each kind); the slot table
   * keeps them addressable. Unlinked cells read -1.
   */
  constructor(
    private readonly prev: Int32Column,
    private readonly next: Int32Column,
  ) {}

  /** True when `slot` is linked. */
  has(slot: number): boolean {
    return this.prev.get(slot) !== -1 || this.head === slot;
  }

  /** Links `slot` at the tail. `slot` must not be linked. */
  append(slot: number): void {
    this.prev.set(slot, this.tail);
    this.next.set(slot, -1);
    if (this.tail === -1) this.head = slot;
    else this.next.set(this.tail, slot);
    this.tail = slot;
    this.size++;
  }

  /** Unlinks `slot`, which must be linked. */
  unlink(slot: number): void {
    const p = this.prev.get(slot);
    const n = this.next.get(slot);
    if (p === -1) this.head = n;
    else this.next.set(p, n);
    if (n === -1) this.tail = p;
    else this.prev.set(n, p);
    this.prev.set(slot, -1);
    this.next.set(slot, -1);
    this.size--;
  }

  /** Moves a linked `slot` to the tail. */
  moveToTail(slot: number): void {
    if (this.tail === slot) return;
    this.unlink(slot);
    this.append(slot);
  }
}
