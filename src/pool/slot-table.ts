import { BytesColumn, FIRST_PAGE, Float64Column, Int32Column, PAGE_SIZE, RefColumn } from "./columns.js";
import { TOKEN_BYTES, decodeToken, encodeToken } from "./key-format.js";
import type { KeyInfo, KeyState } from "./types.js";

/** Anything with per-slot storage that must grow with the table. */
export interface SlotStorage {
  reserve(size: number): void;
}

/**
 * Where keys live: one slot per key across paged columns (growth never copies), slots recycled
 * through a spare list. Knows nothing of free sets, deadlines or expiry; every method is O(1)
 * (O(page) when a new page of every column is added).
 */
export class SlotTable {
  readonly keys = new RefColumn<string>();
  /** Lease ids as their 18 random bytes (not strings): valid only while blocked. */
  readonly leases = new BytesColumn(TOKEN_BYTES);
  readonly createdAt = new Float64Column();
  readonly expiresAt = new Float64Column();
  /** 0 when the slot is not blocked. */
  readonly blockedUntil = new Float64Column();
  /** The fencing token of the key's latest lease (0 before its first); kept while free. */
  readonly fencing = new Float64Column();
  /** When the current lease was acquired: valid only while blocked. */
  readonly acquiredAt = new Float64Column();
  private readonly nextSpare = new Int32Column();
  private spare = -1;
  private used = 0;
  private reserved = 0;

  /**
   * `others` grow with the table: structures indexed by slot (free set, deadline lists, cooldown
   * heap). `cooldownUntil` is the column the cooldown heap orders by (made before the table).
   */
  constructor(
    private readonly others: readonly SlotStorage[],
    /** 0 when the slot is not cooling. */
    readonly cooldownUntil: Float64Column = SlotTable.cooldownColumn(),
  ) {}

  /** A column for `cooldownUntil`, for structures that must hold it before the table exists. */
  static cooldownColumn(): Float64Column {
    return new Float64Column();
  }

  /** Slots ever handed out: every key lives in a slot below it (slots are recycled, never moved). */
  get highWater(): number {
    return this.used;
  }

  /** A fresh, unblocked slot holding `key`. */
  allocate(key: string, createdAt: number, expiresAt: number): number {
    let slot = this.spare;
    if (slot === -1) {
      slot = this.used++;
      // Doubling while the first page grows, then one page of every column at a time.
      if (this.used > this.reserved) this.reserve((this.reserved = this.reserved < PAGE_SIZE ? Math.max(FIRST_PAGE, this.reserved * 2) : this.reserved + PAGE_SIZE));
    } else {
      this.spare = this.nextSpare.get(slot);
    }
    this.keys.set(slot, key);
    this.createdAt.set(slot, createdAt);
    this.expiresAt.set(slot, expiresAt);
    this.blockedUntil.set(slot, 0);
    this.cooldownUntil.set(slot, 0);
    this.fencing.set(slot, 0);
    return slot;
  }

  /** Empties `slot` for reuse. */
  recycle(slot: number): void {
    this.keys.set(slot, undefined);
    this.blockedUntil.set(slot, 0);
    this.cooldownUntil.set(slot, 0);
    this.nextSpare.set(slot, this.spare);
    this.spare = slot;
  }

  /** Writes a lease id (as text) into `slot`. */
  setLeaseId(slot: number, leaseId: string): void {
    decodeToken(leaseId, this.leases.page(slot), this.leases.offset(slot));
  }

  /**
   * Whether `leaseId` (well-formed) is the lease stored in `slot`: its bytes are compared, so no
   * string is made. O(1).
   */
  hasLease(slot: number, leaseId: string): boolean {
    decodeToken(leaseId, this.scratch, 0);
    const page = this.leases.page(slot);
    const at = this.leases.offset(slot);
    for (let i = 0; i < TOKEN_BYTES; i++) if (page[at + i] !== this.scratch[i]) return false;
    return true;
  }

  private readonly scratch = new Uint8Array(TOKEN_BYTES);

  /** The lease id of a blocked slot, as text. */
  leaseId(slot: number): string {
    return encodeToken(this.leases.page(slot), this.leases.offset(slot));
  }

  /** The state of an occupied slot at `now` (a block or cooldown ends at its deadline). O(1). */
  stateAt(slot: number, now: number): KeyState {
    return this.blockedUntil.get(slot) > now ? "blocked" : this.cooldownUntil.get(slot) > now ? "cooling" : "free";
  }

  /** The slot as the pool answers it at `now`. */
  info(slot: number, now: number): KeyInfo {
    const until = this.blockedUntil.get(slot);
    const blocked = until > now;
    const cooled = this.cooldownUntil.get(slot);
    const cooling = cooled > now;
    return {
      key: this.keys.get(slot)!,
      state: blocked ? "blocked" : cooling ? "cooling" : "free",
      leaseId: blocked ? this.leaseId(slot) : undefined,
      blockedUntil: blocked ? until : undefined,
      expiresAt: this.expiresAt.get(slot),
      createdAt: this.createdAt.get(slot),
      fencingToken: this.fencing.get(slot),
      acquiredAt: blocked ? this.acquiredAt.get(slot) : undefined,
      cooldownUntil: cooling ? cooled : undefined,
    };
  }

  private reserve(size: number): void {
    const own = [this.keys, this.leases, this.createdAt, this.expiresAt, this.blockedUntil, this.cooldownUntil, this.fencing, this.acquiredAt, this.nextSpare];
    for (const c of [...own, ...this.others]) {
      c.reserve(size);
    }
  }
}
