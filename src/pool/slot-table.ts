import type { Random } from "../random.js";
import { BytesColumn, Float64Column, Int32Column, RefColumn } from "./columns.js";
import { KeyIndex } from "./key-index.js";
import { TOKEN_BYTES, decodeToken, encodeToken, keyHash } from "./key-format.js";
import { INITIAL_CELLS } from "./key-index.js";
import { TokenSource } from "./token-source.js";
import type { KeyInfo, KeyState } from "./types.js";

/** Slots per chunk: a pool takes slots from its table a chunk at a time. */
export const CHUNK_BITS = 6;
/** Slots per chunk. */
export const CHUNK = 1 << CHUNK_BITS;

/**
 * Where keys live: one slot per key across paged columns (growth never copies more than a page),
 * SHARED by every pool of a process. A pool takes slots in chunks of CHUNK (`takeChunk`) and
 * recycles them itself (see PoolSlots), so a slot belongs to one pool for good. Everything
 * indexed by slot lives here once for all pools: the key's own columns, the links of the pools'
 * free sets, deadline lists and cooldown heaps (a slot is in at most one of each), one key index
 * by (key, pool) and one source of random tokens. So an operation in any of a thousand pools
 * touches the same few column headers, page lists and buffers as an operation in one big pool,
 * and only its key's cells are cold: the per-pool part is a handful of small objects (one
 * `KeyStates`). Knows nothing of states or expiry; every method is O(1) (O(page) when a new page
 * of every column is added).
 */
export class SlotTable {
  readonly keys = new RefColumn<string>();
  /** Lease ids as their 18 random bytes (not strings): valid only while blocked. */
  readonly leases = new BytesColumn(TOKEN_BYTES);
  readonly createdAt = new Float64Column();
  readonly expiresAt = new Float64Column();
  /** 0 when the slot is not blocked. */
  readonly blockedUntil = new Float64Column();
  /**
   * One column for two values of exclusive states, so neither costs a cell per key: while the
   * slot is blocked (`blockedUntil` != 0) it holds `acquiredAt`, else `cooldownUntil` (0: not
   * cooling). Read `cooldownUntil` only where `blockedUntil` is 0; `unblock` writes it back to 0.
   */
  readonly cooldownUntil = new Float64Column();
  /** When the current lease was acquired: the `cooldownUntil` column, read only while blocked. */
  readonly acquiredAt = this.cooldownUntil;
  /** The fencing token of the key's latest lease (0 before its first); kept while free. */
  readonly fencing = new Float64Column();
  /**
   * A free slot's position in its pool's free set, or a cooling slot's in its pool's cooldown
   * heap (a slot is never in both: one column serves the two), else -1.
   */
  readonly freePos = new Int32Column();
  /** Links of the pools' block lists (ordered by block deadline). */
  readonly blockPrev = new Int32Column();
  readonly blockNext = new Int32Column();
  /** Links of the pools' life lists (ordered by life deadline). */
  readonly lifePrev = new Int32Column();
  readonly lifeNext = new Int32Column();
  /**
   * The next slot of an emptied slot's pool's spare list (see PoolSlots): the life list's `next`
   * column, which an empty slot (in no list) does not use and which `append` rewrites.
   */
  readonly nextSpare = this.lifeNext;
  /** The pool that owns each chunk. */
  private readonly owners = new Int32Column();
  /** Every live key of every pool, by (key, pool). */
  readonly index = new KeyIndex((slot) => this.keys.get(slot)!, keyHash, INITIAL_CELLS, (slot) => this.owners.get(slot >>> CHUNK_BITS));
  /** Keys and lease ids for every pool. */
  readonly tokens: TokenSource;
  private chunks = 0;
  private pools = 0;
  /** Every column indexed by slot, grown together a chunk at a time. */
  private readonly columns = [
    this.keys, this.leases, this.createdAt, this.expiresAt, this.blockedUntil, this.cooldownUntil, this.fencing,
    this.freePos, this.blockPrev, this.blockNext, this.lifePrev, this.lifeNext,
  ];

  constructor(random: Random) {
    this.tokens = new TokenSource(random);
  }

  /** A number for a new pool of this table: its owner id in `takeChunk` and the index. O(1). */
  join(): number {
    return this.pools++;
  }

  /** A fresh chunk of CHUNK slots for pool `owner`; returns the chunk's number. O(1), O(page) when the columns grow. */
  takeChunk(owner: number): number {
    const chunk = this.chunks++;
    this.owners.reserve(this.chunks);
    this.owners.set(chunk, owner);
    const size = this.chunks * CHUNK;
    for (const c of this.columns) c.reserve(size);
    return chunk;
  }

  /** Fills a slot (empty, owned by a pool) with a fresh, unblocked, uncooled `key`. */
  fill(slot: number, key: string, createdAt: number, expiresAt: number): void {
    this.keys.set(slot, key);
    this.createdAt.set(slot, createdAt);
    this.expiresAt.set(slot, expiresAt);
    this.blockedUntil.set(slot, 0);
    this.cooldownUntil.set(slot, 0);
    this.fencing.set(slot, 0);
  }

  /** Empties `slot` (its pool keeps it for reuse). */
  clear(slot: number): void {
    this.keys.set(slot, undefined);
    this.blockedUntil.set(slot, 0);
    this.cooldownUntil.set(slot, 0);
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
    const until = this.blockedUntil.get(slot);
    return until > now ? "blocked" : until === 0 && this.cooldownUntil.get(slot) > now ? "cooling" : "free";
  }

  /** The slot as the pool answers it at `now`. */
  info(slot: number, now: number): KeyInfo {
    const until = this.blockedUntil.get(slot);
    const blocked = until > now;
    const cooled = this.cooldownUntil.get(slot);
    const cooling = until === 0 && cooled > now; // while blocked the column holds acquiredAt
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
}
