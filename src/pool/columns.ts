/**
 * Growable columns of numbers and values, stored in fixed-size pages so that growing never
 * copies what is already stored: every append and access is O(1) in the worst case, not merely
 * amortized (a doubling array would copy a million entries inside one request).
 */
const PAGE_BITS = 14;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;

/** A paged column of float64 (timestamps in ms). Unwritten cells read 0. */
export class Float64Column {
  private readonly pages: Float64Array[] = [];

  get(i: number): number {
    return this.pages[i >>> PAGE_BITS]![i & PAGE_MASK]!;
  }

  set(i: number, v: number): void {
    this.pages[i >>> PAGE_BITS]![i & PAGE_MASK] = v;
  }

  /** Makes cells [0, size) addressable. O(1) per new page. */
  reserve(size: number): void {
    while (this.pages.length * PAGE_SIZE < size) this.pages.push(new Float64Array(PAGE_SIZE));
  }
}

/** A paged column of int32 (slot numbers, positions). Unwritten cells read -1. */
export class Int32Column {
  private readonly pages: Int32Array[] = [];

  get(i: number): number {
    return this.pages[i >>> PAGE_BITS]![i & PAGE_MASK]!;
  }

  set(i: number, v: number): void {
    this.pages[i >>> PAGE_BITS]![i & PAGE_MASK] = v;
  }

  /** Makes cells [0, size) addressable. O(1) per new page. */
  reserve(size: number): void {
    while (this.pages.length * PAGE_SIZE < size) this.pages.push(new Int32Array(PAGE_SIZE).fill(-1));
  }
}

/** A paged column of references (strings). Unwritten cells read undefined. */
export class RefColumn<T> {
  private readonly pages: (T | undefined)[][] = [];

  get(i: number): T | undefined {
    return this.pages[i >>> PAGE_BITS]![i & PAGE_MASK];
  }

  set(i: number, v: T | undefined): void {
    this.pages[i >>> PAGE_BITS]![i & PAGE_MASK] = v;
  }

  /** Makes cells [0, size) addressable. O(1) per new page. */
  reserve(size: number): void {
    while (this.pages.length * PAGE_SIZE < size) this.pages.push(new Array<T | undefined>(PAGE_SIZE).fill(undefined));
  }
}

/**
 * A paged column of fixed-width byte strings (`width` bytes per cell), so small binary values
 * (lease ids) cost `width` bytes instead of a pointer plus a heap string. Unwritten cells are zero.
 */
export class BytesColumn {
  private readonly pages: Uint8Array[] = [];

  constructor(readonly width: number) {}

  /** The page holding cell `i`; the cell starts at `offset(i)`. */
  page(i: number): Uint8Array {
    return this.pages[i >>> PAGE_BITS]!;
  }

  /** Where cell `i` starts within its page. */
  offset(i: number): number {
    return (i & PAGE_MASK) * this.width;
  }

  /** Makes cells [0, size) addressable. O(1) per new page. */
  reserve(size: number): void {
    while (this.pages.length * PAGE_SIZE < size) this.pages.push(new Uint8Array(PAGE_SIZE * this.width));
  }
}
