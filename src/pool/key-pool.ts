import type { Random } from "../random.js";
import { DeadlineList } from "./deadline-list.js";
import { KeyPoolError } from "./errors.js";
import { KeyIndex } from "./key-index.js";
import { FreeSet } from "./free-set.js";
import { assertKey, assertLeaseId, isKey, isLeaseId } from "./key-format.js";
import { DEFAULT_MAX_COOLDOWN_MS, assertPoolSettings, keysToGenerate, messages } from "./rules.js";
import { SlotTable } from "./slot-table.js";
import { DEFAULT_MAX_LEASE_MS, NOT_HELD, REFUSALS, maxLeaseRefusal } from "./lease-refusals.js";
import type { LeaseRefusal } from "./lease-refusals.js";
import { TokenSource } from "./token-source.js";
import type { KeyInfo, LeaseRef, LeaseResult, PoolCounters, PoolOptions, PoolStats, RenewOutcome } from "./types.js";

/** Why `live` found no key: never generated or deleted (-1), or dead (-2). */
const UNKNOWN = -1;
const DEAD = -2;
const NOT_FOUND_MESSAGE = { [UNKNOWN]: NOT_HELD.unknown, [DEAD]: NOT_HELD.expired } as const;

/** Expiry work one request may do before it answers (bounded: O(1) per request). */
export const DEFAULT_CATCH_UP_BUDGET = 64;

/**
 * The key pool: a pure, synchronous data structure. Time is passed in (`now`, ms) and never read;
 * randomness is injected. Every operation is O(1) in the number of keys (generate is O(count)).
 *
 * Layout: each key lives in a slot of a `SlotTable`. Free keys sit in a `FreeSet` (uniform random
 * pick and swap-remove in O(1)); blocked keys in a list ordered by block deadline; every key in a
 * list ordered by life deadline. Both deadlines are only ever set to now + a fixed TTL and time
 * never goes backwards inside the pool, so moving a key to a list's tail (acquire, renew,
 * keepalive) keeps that list sorted: no scan, no heap. Deadlines are inclusive: at exactly `blockedUntil` a key is free,
 * at exactly `expiresAt` it is dead. Every read settles the key it touches, so each request sees
 * exact state; bulk expiry is done by `sweep` in bounded slices.
 */
export class KeyPool {
  private readonly free = new FreeSet();
  private readonly blocks = new DeadlineList();
  private readonly lives = new DeadlineList();
  private readonly slots = new SlotTable([this.free, this.blocks, this.lives]);
  /** Shorthands for the hottest columns. */
  private readonly expiresAt = this.slots.expiresAt;
  private readonly blockedUntil = this.slots.blockedUntil;
  private readonly index: KeyIndex;
  private readonly tokens: TokenSource;
  private lastNow = 0;
  private readonly budget: number;
  private readonly maxLeaseMs: number;
  private readonly maxLease: LeaseRefusal;
  /** The longest cooldown a release may ask for (a pool setting). */
  readonly maxCooldownMs: number;
  /** Lifetime event counts, for metrics. */
  readonly counters: PoolCounters = {
    generated: 0, acquired: 0, released: 0, autoReleased: 0, expired: 0, deleted: 0, acquireMisses: 0,
  };

  constructor(
    readonly options: PoolOptions,
    private readonly random: Random,
  ) {
    const { blockTtlMs, keepaliveTtlMs, maxKeys } = options;
    assertPoolSettings({
      blockTtlMs, keepaliveTtlMs, maxKeys,
      catchUpBudget: options.catchUpBudget ?? DEFAULT_CATCH_UP_BUDGET, maxLeaseMs: options.maxLeaseMs ?? DEFAULT_MAX_LEASE_MS,
      maxCooldownMs: options.maxCooldownMs ?? DEFAULT_MAX_COOLDOWN_MS,
    });
    this.maxCooldownMs = options.maxCooldownMs ?? DEFAULT_MAX_COOLDOWN_MS;
    this.index = new KeyIndex((slot) => this.slots.keys.get(slot)!);
    this.tokens = new TokenSource(random);
    this.budget = options.catchUpBudget ?? DEFAULT_CATCH_UP_BUDGET;
    this.maxLeaseMs = options.maxLeaseMs ?? DEFAULT_MAX_LEASE_MS;
    this.maxLease = maxLeaseRefusal(this.maxLeaseMs);
  }

  /** Live keys plus dead ones not yet reclaimed (exact once `sweep` has caught up). */
  get size(): number {
    return this.lives.size;
  }

  /** Adds `count` (0 means 1) new free keys. O(count). Throws INVALID_ARGUMENT, RESOURCE_EXHAUSTED. */
  generate(count: number, now: number): KeyInfo[] {
    const n = keysToGenerate(count);
    now = this.tick(now);
    // Reclaiming up to n dead keys makes the capacity check exact: either every dead key is gone,
    // or n slots were freed.
    this.catchUp(now, Math.max(this.budget, n));
    if (this.lives.size + n > this.options.maxKeys) {
      throw new KeyPoolError("resource-exhausted", messages.poolFull(this.lives.size, this.options.maxKeys, n));
    }
    const out: KeyInfo[] = [];
    for (let i = 0; i < n; i++) out.push(this.slots.info(this.create(now), now));
    this.counters.generated += n;
    return out;
  }

  /**
   * Blocks and returns a uniformly random free key under a fresh lease, whose fencing token is
   * one more than the key's previous one. O(1): at most the catch-up budget of expiry work plus
   * four budgets of picks (each pick of a dead key reclaims it). Throws NOT_FOUND when no key is
   * free, UNAVAILABLE when the picks ran out after a mass expiry.
   */
  acquire(now: number): KeyInfo {
    now = this.tick(now);
    this.catchUp(now, this.budget);
    for (let work = 0; work < this.budget * 4; work++) {
      if (this.free.size === 0) {
        // A block that ended but was not swept yet is a free key: settle it instead of missing.
        const head = this.blocks.head;
        if (head !== -1 && this.blockedUntil.get(head) <= now) {
          this.settle(head, now);
          continue;
        }
        this.counters.acquireMisses++;
        throw new KeyPoolError("not-found", messages.noFreeKey(this.lives.size));
      }
      const slot = this.free.at(this.random.int(this.free.size));
      if (this.expiresAt.get(slot) <= now) {
        this.purge(slot);
        this.counters.expired++;
        continue;
      }
      this.free.remove(slot);
      this.blockedUntil.set(slot, now + this.options.blockTtlMs);
      this.tokens.leaseBytes(this.slots.leases.page(slot), this.slots.leases.offset(slot));
      this.slots.fencing.set(slot, this.slots.fencing.get(slot) + 1);
      this.slots.acquiredAt.set(slot, now);
      this.blocks.append(slot);
      this.counters.acquired++;
      return this.slots.info(slot, now);
    }
    throw new KeyPoolError("unavailable", messages.reclaiming());
  }

  /**
   * Unblocks `key`. A free key stays free (OK). With `leaseId`, a key blocked under another lease
   * is left untouched (FAILED_PRECONDITION). O(1).
   */
  release(key: string, leaseId: string | undefined, now: number): KeyInfo {
    now = this.tick(now);
    if (leaseId) assertLeaseId(leaseId);
    const slot = this.find(key, now);
    if (this.blockedUntil.get(slot) !== 0) {
      if (leaseId && !this.slots.hasLease(slot, leaseId)) {
        throw new KeyPoolError("failed-precondition", messages.notCurrentLease());
      }
      this.unblock(slot);
      this.counters.released++;
    }
    return this.slots.info(slot, now);
  }

  /**
   * Renews `key`'s current lease: block = now + block TTL, life = now + keepalive TTL; lease id
   * and fencing token stay. Refused, with nothing changed, when the pool does not hold the key
   * (`not-found`), when `leaseId` is not its current lease (`lease-ended`: the key is free, also
   * at exactly `blockedUntil`, or blocked under another lease), or when the block would pass
   * `acquiredAt` + max lease (`max-lease`). O(1). Throws INVALID_ARGUMENT for a malformed key or
   * lease id (`field` names them, e.g. "leases[3]").
   */
  renew(key: string, leaseId: string, now: number, field?: string): RenewOutcome {
    now = this.tick(now);
    assertKey(key, field === undefined ? "key" : `${field}.key`);
    assertLeaseId(leaseId, field === undefined ? "lease_id" : `${field}.lease_id`);
    const renewed = this.renewChecked(key, leaseId, now);
    return typeof renewed === "number" ? { renewed: true, info: this.slots.info(renewed, now) } : { renewed: false, refusal: renewed };
  }

  /**
   * Renews each lease as `renew` does, in order, after checking every entry's shape (a malformed
   * one throws INVALID_ARGUMENT before anything changes); `onRenewed` hears each renewed key
   * (given only when it is needed: the key's description, lease id text included, is built for it
   * alone). O(k) for k leases.
   */
  renewMany(leases: readonly LeaseRef[], now: number, onRenewed?: (info: KeyInfo) => void): LeaseResult[] {
    now = this.tick(now);
    for (let i = 0; i < leases.length; i++) {
      const { key, leaseId } = leases[i]!;
      // The field names are built only for the message of a malformed entry.
      if (!isKey(key)) assertKey(key, `leases[${i}].key`);
      if (!isLeaseId(leaseId)) assertLeaseId(leaseId, `leases[${i}].lease_id`);
    }
    const blockedUntil = now + this.options.blockTtlMs;
    const expiresAt = now + this.options.keepaliveTtlMs;
    const results: LeaseResult[] = new Array(leases.length);
    for (let i = 0; i < leases.length; i++) {
      const { key, leaseId } = leases[i]!;
      const renewed = this.renewChecked(key, leaseId, now);
      if (typeof renewed !== "number") {
        results[i] = { key, leaseId, renewed: false, blockedUntil: undefined, expiresAt: undefined, reason: renewed.reason };
        continue;
      }
      onRenewed?.(this.slots.info(renewed, now));
      results[i] = { key, leaseId, renewed: true, blockedUntil, expiresAt, reason: undefined };
    }
    return results;
  }

  /**
   * `renew` for a well-formed key and lease id at a ticked `now`: the renewed key's slot, or the
   * refusal (nothing changed then). O(1).
   */
  private renewChecked(key: string, leaseId: string, now: number): number | LeaseRefusal {
    const slot = this.live(key, now);
    if (slot < 0) return slot === DEAD ? REFUSALS.expired : REFUSALS.notFound;
    if (this.blockedUntil.get(slot) === 0) return REFUSALS.ended;
    if (!this.slots.hasLease(slot, leaseId)) return REFUSALS.taken;
    const until = now + this.options.blockTtlMs;
    if (until > this.slots.acquiredAt.get(slot) + this.maxLeaseMs) return this.maxLease;
    this.blockedUntil.set(slot, until);
    this.blocks.moveToTail(slot);
    this.expiresAt.set(slot, now + this.options.keepaliveTtlMs);
    this.lives.moveToTail(slot);
    return slot;
  }

  /** Purges `key` in any state. O(1). Throws NOT_FOUND. */
  delete(key: string, now: number): void {
    now = this.tick(now);
    this.purge(this.find(key, now));
    this.counters.deleted++;
  }

  /** Sets `key`'s life to now + keepalive TTL, leaving its block as it is. O(1). Throws NOT_FOUND. */
  keepAlive(key: string, now: number): KeyInfo {
    now = this.tick(now);
    return this.extend(this.find(key, now), now);
  }

  /**
   * `keepAlive` for one key of a batch: undefined instead of NOT_FOUND for an unknown or dead key
   * (a dead one is reclaimed, as `keepAlive` would). O(1). Throws INVALID_ARGUMENT.
   */
  tryKeepAlive(key: string, now: number): KeyInfo | undefined {
    now = this.tick(now);
    assertKey(key);
    const slot = this.live(key, now);
    return slot < 0 ? undefined : this.extend(slot, now);
  }

  /** Whether `key` is a well-formed key the pool holds alive at `now` (a dead one is reclaimed). O(1). */
  isLive(key: string, now: number): boolean {
    return isKey(key) && this.live(key, this.tick(now)) >= 0;
  }

  /** Describes `key`. O(1). Throws NOT_FOUND. */
  get(key: string, now: number): KeyInfo {
    now = this.tick(now);
    return this.slots.info(this.find(key, now), now);
  }

  /** Counts keys after a bounded catch-up (exact unless a mass expiry is still being swept). O(1). */
  stats(now: number): PoolStats {
    now = this.tick(now);
    this.catchUp(now, this.budget);
    return {
      total: this.lives.size,
      free: this.lives.size - this.blocks.size,
      blocked: this.blocks.size,
      // No release cools a key before cooldowns land in this pool.
      cooling: 0,
      blockTtlMs: this.options.blockTtlMs,
      keepaliveTtlMs: this.options.keepaliveTtlMs,
      maxKeys: this.options.maxKeys,
      maxCooldownMs: this.maxCooldownMs,
    };
  }

  /** Does up to `budget` units of expiry work; returns how many were done. O(budget). */
  sweep(now: number, budget: number): number {
    return this.catchUp(this.tick(now), budget);
  }

  /** The earliest pending block or life deadline, or undefined when there is none. O(1). */
  nextDeadline(): number | undefined {
    const b = this.blocks.head === -1 ? Infinity : this.blockedUntil.get(this.blocks.head);
    const l = this.lives.head === -1 ? Infinity : this.expiresAt.get(this.lives.head);
    const next = Math.min(b, l);
    return next === Infinity ? undefined : next;
  }

  /**
   * Puts back a key exactly as a durable log recorded it (used on recovery). A block that already
   * ended comes back free. O(1). The key must not be in the pool, and the caller keeps the pool
   * within `maxKeys` (restore does not check). Both deadline lists are append-only, so keys must
   * come back in `expiresAt` order and blocked keys in `blockedUntil` order; out of order, expiry
   * and auto-release stop early at the first deadline not yet due.
   */
  restore(info: KeyInfo, now: number): void {
    now = this.tick(now);
    const slot = this.allocate(info.key, info.createdAt, info.expiresAt);
    this.slots.fencing.set(slot, info.fencingToken ?? 0);
    if (info.blockedUntil !== undefined && info.blockedUntil > now && info.leaseId) {
      this.blockedUntil.set(slot, info.blockedUntil);
      // A record from before leases were renewable has no acquiredAt: its lease began one TTL ago.
      this.slots.acquiredAt.set(slot, info.acquiredAt ?? info.blockedUntil - this.options.blockTtlMs);
      this.slots.setLeaseId(slot, info.leaseId);
      this.blocks.append(slot);
    } else {
      this.free.add(slot);
    }
  }

  /** Time never goes backwards inside the pool, so both deadline lists stay sorted. */
  private tick(now: number): number {
    if (now > this.lastNow) this.lastNow = now;
    return this.lastNow;
  }

  /**
   * Reclaims dead keys, then ends due blocks, oldest first: at most `budget` units in all.
   * Dead keys go first because purging one also drops its block (ending the block of a key that
   * is dead anyway would be wasted work), so k keys never need more than k units, and a request
   * that counts keys (generate's capacity check, stats) sees every dead key gone first.
   */
  private catchUp(now: number, budget: number): number {
    let work = 0;
    for (let s = this.lives.head; work < budget && s !== -1 && this.expiresAt.get(s) <= now; s = this.lives.head) {
      this.purge(s);
      this.counters.expired++;
      work++;
    }
    for (let s = this.blocks.head; work < budget && s !== -1 && this.blockedUntil.get(s) <= now; s = this.blocks.head) {
      this.settle(s, now);
      work++;
    }
    return work;
  }

  /** The slot of a live key, settling its state for `now`; throws INVALID_ARGUMENT, NOT_FOUND. */
  private find(key: string, now: number): number {
    assertKey(key);
    const slot = this.live(key, now);
    if (slot < 0) throw new KeyPoolError("not-found", NOT_FOUND_MESSAGE[slot as typeof UNKNOWN | typeof DEAD]);
    return slot;
  }

  /** The slot of a well-formed live key, settled for `now`; UNKNOWN or DEAD (reclaimed) if none. */
  private live(key: string, now: number): number {
    const slot = this.index.find(key);
    if (slot === -1) return UNKNOWN;
    if (this.expiresAt.get(slot) <= now) {
      this.purge(slot);
      this.counters.expired++;
      return DEAD;
    }
    this.settle(slot, now);
    return slot;
  }

  private extend(slot: number, now: number): KeyInfo {
    this.expiresAt.set(slot, now + this.options.keepaliveTtlMs);
    this.lives.moveToTail(slot);
    return this.slots.info(slot, now);
  }

  /** Frees `slot` if its block has ended at `now`. */
  private settle(slot: number, now: number): void {
    const until = this.blockedUntil.get(slot);
    if (until !== 0 && until <= now) {
      this.unblock(slot);
      this.counters.autoReleased++;
    }
  }

  private unblock(slot: number): void {
    this.blocks.unlink(slot);
    this.blockedUntil.set(slot, 0);
    this.free.add(slot);
  }

  private create(now: number): number {
    let key = this.tokens.key();
    while (this.index.find(key) !== -1) key = this.tokens.key(); // 2^-144: never, but never wrong
    const slot = this.allocate(key, now, now + this.options.keepaliveTtlMs);
    this.free.add(slot);
    return slot;
  }

  private allocate(key: string, createdAt: number, expiresAt: number): number {
    const slot = this.slots.allocate(key, createdAt, expiresAt);
    this.index.insert(slot);
    this.lives.append(slot);
    return slot;
  }

  /** Removes a key in any state and recycles its slot. */
  private purge(slot: number): void {
    if (this.blockedUntil.get(slot) !== 0) this.blocks.unlink(slot);
    else this.free.remove(slot);
    this.lives.unlink(slot);
    this.index.remove(slot);
    this.slots.recycle(slot);
  }
}
