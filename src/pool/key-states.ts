import { CooldownHeap } from "./cooldown-heap.js";
import { DeadlineList } from "./deadline-list.js";
import { FreeSet } from "./free-set.js";
import type { ListingSource } from "./key-listing.js";
import { PoolSlots } from "./pool-slots.js";
import type { SlotTable } from "./slot-table.js";
import type { KeyInfo, KeyState, PoolCounters } from "./types.js";

/** `live` found no key: never added or deleted. */
export const UNKNOWN = -1;
/** `live` found the key dead (and reclaimed it). */
export const DEAD = -2;

/**
 * Where every key of a pool is and how it moves between states: its slots in the (shared) slot
 * table and the table's index, the free set, the block and life lists (FIFO: fixed TTLs) and the
 * cooldown heap (per-request deadlines). A live key is in exactly one of free / blocked
 * (`blockedUntil` != 0) / cooling (`cooldownUntil` != 0), and always in the life list. Deadlines
 * are inclusive. Every method is O(1) but the heap's O(log n); `catchUp` does at most `budget`
 * units. As a ListingSource it lists by place (see PoolSlots), not by slot.
 */
export class KeyStates implements ListingSource {
  readonly free: FreeSet;
  readonly blocks: DeadlineList;
  readonly lives: DeadlineList;
  readonly cooling: CooldownHeap;
  private readonly places: PoolSlots;
  private readonly owner: number;
  /**
   * A time at or before every block, cooldown and life deadline of the pool: before it,
   * `catchUp` has nothing to do and returns at once, reading no list head (cold when a request
   * lands in one of many pools). Lowered by every deadline written (`noteDeadline`), made exact
   * by each catch-up that finishes; removing a deadline leaves it low, which is safe.
   */
  private bound = Infinity;

  /** A new, empty pool in `slots`, a table it may share with other pools. */
  constructor(
    private readonly counters: PoolCounters,
    readonly slots: SlotTable,
  ) {
    this.free = new FreeSet(slots.freePos);
    this.blocks = new DeadlineList(slots.blockPrev, slots.blockNext);
    this.lives = new DeadlineList(slots.lifePrev, slots.lifeNext);
    this.cooling = new CooldownHeap(slots.cooldownUntil, slots.freePos);
    this.owner = slots.join();
    this.places = new PoolSlots(slots, this.owner, (places) => this.free.reserve(places));
  }

  /** Places ever used (for listing): every key of the pool has a place below it. */
  get highWater(): number {
    return this.places.places;
  }

  /** The slot of `key` in this pool, live or dead, or -1. O(1) expected. */
  find(key: string): number {
    return this.slots.index.find(key, this.owner);
  }

  /** The slot of a live key, settled for `now`; UNKNOWN, or DEAD (reclaimed and counted). */
  live(key: string, now: number): number {
    const slot = this.find(key);
    if (slot === -1) return UNKNOWN;
    if (this.slots.expiresAt.get(slot) <= now) {
      this.purge(slot);
      this.counters.expired++;
      return DEAD;
    }
    this.settle(slot, now);
    return slot;
  }

  /**
   * Reclaims dead keys, then ends due blocks and due cooldowns, earliest first: at most `budget`
   * units in all. Dead keys go first because purging one also drops its block or cooldown, so k
   * keys never need more than k units, and a request that counts keys sees every dead key gone.
   */
  catchUp(now: number, budget: number): number {
    if (now < this.bound) return 0;
    const { expiresAt, blockedUntil, cooldownUntil } = this.slots;
    let work = 0;
    for (let s = this.lives.head; work < budget && s !== -1 && expiresAt.get(s) <= now; s = this.lives.head) {
      this.purge(s);
      this.counters.expired++;
      work++;
    }
    for (let s = this.blocks.head; work < budget && s !== -1 && blockedUntil.get(s) <= now; s = this.blocks.head) {
      this.settle(s, now);
      work++;
    }
    for (let s = this.cooling.top; work < budget && s !== -1 && cooldownUntil.get(s) <= now; s = this.cooling.top) {
      this.settle(s, now);
      work++;
    }
    if (work < budget) this.bound = this.nextDeadline() ?? Infinity;
    return work;
  }

  /**
   * At or before every deadline of the pool (see `bound`); the exact one is `nextDeadline`. O(1),
   * and unlike `nextDeadline` it reads no list head.
   */
  deadlineBound(): number {
    return this.bound;
  }

  /** Hears a deadline just written (block, cooldown or life). O(1). */
  noteDeadline(deadline: number): void {
    if (deadline < this.bound) this.bound = deadline;
  }

  /** Blocks a live, free-set-removed `slot` until `until`. O(1). */
  block(slot: number, until: number): void {
    this.slots.blockedUntil.set(slot, until);
    this.blocks.append(slot);
    this.noteDeadline(until);
  }

  /** Moves a blocked `slot`'s block deadline to `until` (now + block TTL). O(1). */
  extendBlock(slot: number, until: number): void {
    this.slots.blockedUntil.set(slot, until);
    this.blocks.moveToTail(slot);
    this.noteDeadline(until);
  }

  /** Moves a live `slot`'s life deadline to `until` (now + keepalive TTL). O(1). */
  extendLife(slot: number, until: number): void {
    this.slots.expiresAt.set(slot, until);
    this.lives.moveToTail(slot);
    this.noteDeadline(until);
  }

  /** The earliest block, cooldown or life deadline, or undefined. O(1). */
  nextDeadline(): number | undefined {
    const { expiresAt, blockedUntil, cooldownUntil } = this.slots;
    const b = this.blocks.head === -1 ? Infinity : blockedUntil.get(this.blocks.head);
    const l = this.lives.head === -1 ? Infinity : expiresAt.get(this.lives.head);
    const c = this.cooling.top === -1 ? Infinity : cooldownUntil.get(this.cooling.top);
    const next = Math.min(b, l, c);
    return next === Infinity ? undefined : next;
  }

  /** Frees `slot` if its block or cooldown has ended at `now`. */
  settle(slot: number, now: number): void {
    const until = this.slots.blockedUntil.get(slot);
    if (until !== 0) {
      // Blocked: the shared column holds acquiredAt, not a cooldown.
      if (until <= now) {
        this.unblock(slot);
        this.counters.autoReleased++;
      }
      return;
    }
    const cooled = this.slots.cooldownUntil.get(slot);
    if (cooled !== 0 && cooled <= now) {
      this.cooling.remove(slot);
      this.slots.cooldownUntil.set(slot, 0);
      this.free.add(slot);
    }
  }

  /** Ends `slot`'s block (it must be blocked): the key is free. */
  unblock(slot: number): void {
    this.blocks.unlink(slot);
    this.slots.blockedUntil.set(slot, 0);
    this.slots.acquiredAt.set(slot, 0); // the column reads as cooldownUntil again: 0, not cooling
    this.free.add(slot);
  }

  /**
   * Makes a live, settled `slot` cool until `until` (from free or blocked; a cooling key keeps the
   * later of its deadline and `until`). O(log n).
   */
  cool(slot: number, until: number): void {
    const { blockedUntil, cooldownUntil } = this.slots;
    if (blockedUntil.get(slot) !== 0) {
      this.blocks.unlink(slot);
      blockedUntil.set(slot, 0);
    } else {
      const current = cooldownUntil.get(slot);
      if (current !== 0) {
        if (until > current) {
          cooldownUntil.set(slot, until);
          this.cooling.update(slot);
          this.noteDeadline(until);
        }
        return;
      }
      this.free.remove(slot);
    }
    cooldownUntil.set(slot, until); // over a blocked key's acquiredAt, which ends with its lease
    this.cooling.push(slot);
    this.noteDeadline(until);
  }

  /** A fresh slot for `key` (not in the pool), linked into the index and life list; the caller places it. */
  allocate(key: string, createdAt: number, expiresAt: number): number {
    const slot = this.places.take();
    this.slots.fill(slot, key, createdAt, expiresAt);
    this.slots.index.insert(slot);
    this.lives.append(slot);
    this.noteDeadline(expiresAt);
    return slot;
  }

  /**
   * Puts back a key exactly as a durable log recorded it. A block or cooldown that already ended
   * comes back free. The key must not be in the pool, and the caller keeps the pool within
   * `maxKeys`. Both deadline lists are append-only, so keys must come back in `expiresAt` order
   * and blocked keys in `blockedUntil` order; out of order, expiry and auto-release stop early at
   * the first deadline not yet due (cooling keys may come in any order: they sit in a heap).
   */
  restore(info: KeyInfo, now: number, blockTtlMs: number): void {
    const slot = this.allocate(info.key, info.createdAt, info.expiresAt);
    this.slots.fencing.set(slot, info.fencingToken ?? 0);
    if (info.blockedUntil !== undefined && info.blockedUntil > now && info.leaseId) {
      this.slots.blockedUntil.set(slot, info.blockedUntil);
      this.noteDeadline(info.blockedUntil);
      // A record from before leases were renewable has no acquiredAt: its lease began one TTL ago.
      this.slots.acquiredAt.set(slot, info.acquiredAt ?? info.blockedUntil - blockTtlMs);
      this.slots.setLeaseId(slot, info.leaseId);
      this.blocks.append(slot);
    } else {
      this.free.add(slot);
      if (info.cooldownUntil !== undefined && info.cooldownUntil > now) this.cool(slot, info.cooldownUntil);
    }
  }

  /** Removes a key in any state and recycles its slot. */
  purge(slot: number): void {
    if (this.slots.blockedUntil.get(slot) !== 0) this.blocks.unlink(slot);
    else if (this.slots.cooldownUntil.get(slot) !== 0) this.cooling.remove(slot);
    else this.free.remove(slot);
    this.lives.unlink(slot);
    this.slots.index.remove(slot);
    this.slots.clear(slot);
    this.places.recycle(slot);
  }

  /** The state of the live key at `place`, or undefined (empty, dead). O(1). */
  stateAt(place: number, now: number): KeyState | undefined {
    const slot = this.places.slotAt(place);
    if (this.slots.keys.get(slot) === undefined || this.slots.expiresAt.get(slot) <= now) return undefined;
    return this.slots.stateAt(slot, now);
  }

  /** The key at `place` as the pool answers it. O(1). */
  info(place: number, now: number): KeyInfo {
    return this.slots.info(this.places.slotAt(place), now);
  }
}
