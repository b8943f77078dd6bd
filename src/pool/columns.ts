/**
 * Growable columns of numbers and values, stored in fixed-size pages so that growing never
 * copies more than one page: every append and access is O(1) in the worst case, not merely
 * amortized (a doubling array would copy a million entries inside one request). The first page
 * starts small and doubles up to PAGE_SIZE cells (copying at most one page), so a pool of a few
 * keys costs a few KB, not a full page of every column (a server holds up to --max-pools pools).
 */
const PAGE_BITS = 14;
/** Cells of a full page. */
export const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;
/** Cells of the smallest first page. */
export const FIRST_PAGE = 64;

/**
 * Makes cells [0, size) of `pages` addressable: the first page doubles (a copy of at most
 * PAGE_SIZE cells), later pages are added whole. `make(cells, from)` builds a page, copying `from`.
 */
function reservePages<P extends { readonly length: number }>(pages: P[], size: number, width: number, make: (cells: number, from?: P) => P): void {
  const first = pages[0];
  const firstCells = first === undefined ? 0 : first.length / width;
  if (firstCells < PAGE_SIZE && firstCells < size) {
    let cells = Math.max(FIRST_PAGE, firstCells);
    while (cells < size && cells < PAGE_SIZE) cells *= 2;
    pages[0] = make(cells, first);
  }
  while (pages.length * PAGE_SIZE < size) pages.push(make(PAGE_SIZE));
}

/** A new typed-array page of `cells` cells, `from` copied in. */
function typedPage<T extends Float64Array | Int32Array | Uint8Array>(ctor: new (n: number) => T, cells: number, fill: number, from?: T): T {
  const page = new ctor(cells);
  if (fill !== 0) page.fill(fill);
  if (from) page.set(from);
  return page;
}

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
    reservePages(this.pages, size, 1, (cells, from) => typedPage(Float64Array, cells, 0, from));
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
    reservePages(this.pages, size, 1, (cells, from) => typedPage(Int32Array, cells, -1, from));
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
    reservePages(this.pages, size, 1, (cells, from) => {
      const page = new Array<T | undefined>(cells).fill(undefined);
      from?.forEach((v, i) => (page[i] = v));
      return page;
    });
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
    reservePages(this.pages, size, this.width, (cells, from) => typedPage(Uint8Array, cells * this.width, 0, from));
  }
}
