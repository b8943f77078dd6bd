import { CooldownHeap } from "./cooldown-heap.js";
import { DeadlineList } from "./deadline-list.js";
import { FreeSet } from "./free-set.js";
import { KeyIndex } from "./key-index.js";
import type { ListingSource } from "./key-listing.js";
import { SlotTable } from "./slot-table.js";
import type { KeyInfo, KeyState, PoolCounters } from "./types.js";

/** `live` found no key: never added or deleted. */
export const UNKNOWN = -1;
/** `live` found the key dead (and reclaimed it). */
export const DEAD = -2;

/**
 * Where every key of a pool is and how it moves between states: the slot table and its index,
 * the free set, the block and life lists (FIFO: fixed TTLs) and the cooldown heap (per-request
 * deadlines). A live key is in exactly one of free / blocked (`blockedUntil` != 0) / cooling
 * (`cooldownUntil` != 0), and always in the life list. Deadlines are inclusive. Every method is
 * O(1) but the heap's O(log n); `catchUp` does at most `budget` units.
 */
export class KeyStates implements ListingSource {
  readonly free = new FreeSet();
  readonly blocks = new DeadlineList();
  readonly lives = new DeadlineList();
  readonly slots: SlotTable;
  readonly cooling: CooldownHeap;
  readonly index = new KeyIndex((slot) => this.slots.keys.get(slot)!);

  constructor(private readonly counters: PoolCounters) {
    const cooldownUntil = SlotTable.cooldownColumn();
    this.cooling = new CooldownHeap(cooldownUntil);
    this.slots = new SlotTable([this.free, this.blocks, this.lives, this.cooling], cooldownUntil);
  }

  get highWater(): number {
    return this.slots.highWater;
  }

  /** The slot of a live key, settled for `now`; UNKNOWN, or DEAD (reclaimed and counted). */
  live(key: string, now: number): number {
    const slot = this.index.find(key);
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
    return work;
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
    if (until !== 0 && until <= now) {
      this.unblock(slot);
      this.counters.autoReleased++;
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
    this.free.add(slot);
  }

  /**
   * Makes a live, settled `slot` cool until `until` (from free or blocked; a cooling key keeps the
   * later of its deadline and `until`). O(log n).
   */
  cool(slot: number, until: number): void {
    const { blockedUntil, cooldownUntil } = this.slots;
    const current = cooldownUntil.get(slot);
    if (current !== 0) {
      if (until > current) {
        cooldownUntil.set(slot, until);
        this.cooling.update(slot);
      }
      return;
    }
    if (blockedUntil.get(slot) !== 0) {
      this.blocks.unlink(slot);
      blockedUntil.set(slot, 0);
    } else {
      this.free.remove(slot);
    }
    cooldownUntil.set(slot, until);
    this.cooling.push(slot);
  }

  /** A fresh slot for `key` (not in the pool), linked into the index and life list; the caller places it. */
  allocate(key: string, createdAt: number, expiresAt: number): number {
    const slot = this.slots.allocate(key, createdAt, expiresAt);
    this.index.insert(slot);
    this.lives.append(slot);
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
    this.index.remove(slot);
    this.slots.recycle(slot);
  }

  stateAt(slot: number, now: number): KeyState | undefined {
    if (this.slots.keys.get(slot) === undefined || this.slots.expiresAt.get(slot) <= now) return undefined;
    return this.slots.stateAt(slot, now);
  }

  info(slot: number, now: number): KeyInfo {
    return this.slots.info(slot, now);
  }
}
