import { Int32Column } from "./columns.js";
import { CHUNK, CHUNK_BITS } from "./slot-table.js";
import type { SlotTable } from "./slot-table.js";

const CHUNK_MASK = CHUNK - 1;

/**
 * The slots of one pool within a shared SlotTable: chunks taken from the table as the pool
 * grows, in order, so the pool numbers its slots 0, 1, 2... (its *places*: place p is slot
 * `chunks[p / CHUNK] * CHUNK + p % CHUNK`). Emptied slots go on the pool's own spare list and
 * are reused by the pool alone, so a slot, and with it its place, stays with one pool for good:
 * a listing by place returns every key that stays for the whole scan exactly once, whatever
 * other pools do. `grow(places)` hears each new chunk, so the pool's per-place arrays (its free
 * set, its cooldown heap) can make room. Every method is O(1) (O(page) when a column grows).
 */
export class PoolSlots {
  private readonly chunks = new Int32Column();
  private chunkCount = 0;
  /** Places ever handed out: every slot of the pool has a place below it. */
  places = 0;
  private spare = -1;

  constructor(
    private readonly table: SlotTable,
    /** The pool's number in the table. */
    readonly owner: number,
    private readonly grow: (places: number) => void,
  ) {}

  /** An empty slot of this pool (a recycled one first). */
  take(): number {
    const reused = this.spare;
    if (reused !== -1) {
      this.spare = this.table.nextSpare.get(reused);
      return reused;
    }
    const place = this.places++;
    if ((place & CHUNK_MASK) === 0) {
      this.chunks.reserve(this.chunkCount + 1);
      this.chunks.set(this.chunkCount++, this.table.takeChunk(this.owner));
      this.grow(this.chunkCount * CHUNK);
    }
    return this.slotAt(place);
  }

  /** Puts an emptied slot of this pool on its spare list. */
  recycle(slot: number): void {
    this.table.nextSpare.set(slot, this.spare);
    this.spare = slot;
  }

  /** The slot at `place` (0 <= place < places). */
  slotAt(place: number): number {
    return (this.chunks.get(place >>> CHUNK_BITS) << CHUNK_BITS) | (place & CHUNK_MASK);
  }
}
