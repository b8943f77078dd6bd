import type { Random } from "../random.js";
import { KeyPoolError } from "./errors.js";
import { assertKey, assertLeaseId, isKey } from "./key-format.js";
import { checkImport } from "./key-import.js";
import { INSTANCE_BYTES, listPage } from "./key-listing.js";
import { DEAD, KeyStates, UNKNOWN } from "./key-states.js";
import { renewLease, renewLeases } from "./lease-renewal.js";
import type { LeaseRules } from "./lease-renewal.js";
import { DEFAULT_MAX_COOLDOWN_MS, assertCooldown, assertPoolSettings, keysToGenerate, messages } from "./rules.js";
import { DEFAULT_MAX_LEASE_MS, NOT_HELD, maxLeaseRefusal } from "./lease-refusals.js";
import type { LeaseRefusal } from "./lease-refusals.js";
import { SlotTable } from "./slot-table.js";
import type { TokenSource } from "./token-source.js";
import type { KeyInfo, LeaseRef, LeaseResult, ListPage, ListQuery, PoolCounters, PoolOptions, PoolStats, RenewOutcome } from "./types.js";

const NOT_FOUND_MESSAGE = { [UNKNOWN]: NOT_HELD.unknown, [DEAD]: NOT_HELD.expired } as const;

/** Expiry work one request may do before it answers (bounded: O(1) per request). */
export const DEFAULT_CATCH_UP_BUDGET = 64;

/**
 * The key pool: a pure, synchronous data structure. Time is passed in (`now`, ms) and never read;
 * randomness is injected. Every operation is O(1) in the number of keys (generate and import are
 * O(count), a cooldown O(log n), a listing page O(pageSize)).
 *
 * Layout (see KeyStates): each key lives in a slot of a `SlotTable`, which the pools of one
 * process share (an op in any pool then touches the same columns). Free keys sit in a `FreeSet`
 * (uniform random pick and swap-remove in O(1)); blocked keys in a list ordered by block
 * deadline; cooling keys in a heap by cooldown deadline; every key in a list ordered by life
 * deadline. Block and life deadlines are only ever set to now + a fixed TTL and time never goes
 * backwards inside the pool, so moving a key to a list's tail (acquire, renew, keepalive) keeps
 * that list sorted; cooldowns vary per release, hence the heap. Deadlines are inclusive: at
 * exactly `blockedUntil` or `cooldownUntil` a key is free, at exactly `expiresAt` it is dead.
 * Every read settles the key it touches, so each request sees exact state; bulk expiry is done by
 * `sweep` in bounded slices.
 */
export class KeyPool {
  // Fields in the order an acquire reads them: V8 lays an object out in declaration order, so
  // the hot ones share the first cache lines (cold ones when a request lands in one of many pools).
  private readonly states: KeyStates;
  private readonly free: KeyStates["free"];
  private lastNow = 0;
  private readonly budget: number;
  /** Shorthands for the hottest columns. */
  private readonly expiresAt: KeyStates["slots"]["expiresAt"];
  private readonly slots: KeyStates["slots"];
  private readonly tokens: TokenSource;
  /** Lifetime event counts, for metrics. */
  readonly counters: PoolCounters = {
    generated: 0, acquired: 0, released: 0, autoReleased: 0, expired: 0, deleted: 0, acquireMisses: 0,
  };
  private readonly blockedUntil: KeyStates["slots"]["blockedUntil"];
  private readonly blocks: KeyStates["blocks"];
  private readonly lives: KeyStates["lives"];
  /** Names this pool instance in its page tokens (random per pool and run; drawn at the first listing). */
  private instance: Uint8Array | undefined;
  private readonly leaseRules: LeaseRules;
  /** The longest cooldown a release may ask for (a pool setting). */
  readonly maxCooldownMs: number;

  /**
   * A new, empty pool. `table` is where its keys live: pools of one process share one (see
   * SlotTable) so an operation in any of them touches the same columns; absent, the pool has its
   * own, drawing tokens from `random`. `random` also picks the free key of each acquire.
   */
  constructor(
    readonly options: PoolOptions,
    private readonly random: Random,
    table: SlotTable = new SlotTable(random),
  ) {
    const { blockTtlMs, keepaliveTtlMs, maxKeys } = options;
    const catchUpBudget = options.catchUpBudget ?? DEFAULT_CATCH_UP_BUDGET;
    const maxLeaseMs = options.maxLeaseMs ?? DEFAULT_MAX_LEASE_MS;
    this.maxCooldownMs = options.maxCooldownMs ?? DEFAULT_MAX_COOLDOWN_MS;
    assertPoolSettings({ blockTtlMs, keepaliveTtlMs, maxKeys, catchUpBudget, maxLeaseMs, maxCooldownMs: this.maxCooldownMs });
    this.states = new KeyStates(this.counters, table);
    ({ free: this.free, blocks: this.blocks, lives: this.lives, slots: this.slots } = this.states);
    this.expiresAt = this.slots.expiresAt;
    this.blockedUntil = this.slots.blockedUntil;
    this.tokens = table.tokens;
    this.budget = catchUpBudget;
    this.leaseRules = { blockTtlMs, keepaliveTtlMs, maxLeaseMs, maxLease: maxLeaseRefusal(maxLeaseMs) };
  }

  /** Live keys plus dead ones not yet reclaimed (exact once `sweep` has caught up). */
  get size(): number {
    return this.lives.size;
  }

  /** Adds `count` (0 means 1) new free keys. O(count). Throws INVALID_ARGUMENT, RESOURCE_EXHAUSTED. */
  generate(count: number, now: number): KeyInfo[] {
    const n = keysToGenerate(count);
    now = this.tick(now);
    this.makeRoom(n, now);
    const out: KeyInfo[] = [];
    for (let i = 0; i < n; i++) out.push(this.slots.info(this.create(now), now));
    this.counters.generated += n;
    return out;
  }

  /**
   * Adds existing secrets as free keys alive for one keepalive TTL, all or none (see
   * `checkImport`: INVALID_ARGUMENT or ALREADY_EXISTS naming the index), then RESOURCE_EXHAUSTED
   * past maxKeys. O(k) for k keys.
   */
  import(keys: readonly string[], now: number): KeyInfo[] {
    now = this.tick(now);
    checkImport(keys, (key) => this.states.live(key, now) >= 0);
    this.makeRoom(keys.length, now);
    return keys.map((key) => {
      const slot = this.states.allocate(key, now, now + this.options.keepaliveTtlMs);
      this.free.add(slot);
      return this.slots.info(slot, now);
    });
  }

  /**
   * Blocks and returns a uniformly random free key under a fresh lease, whose fencing token is
   * one more than the key's previous one. O(1): at most the catch-up budget of expiry work plus
   * four budgets of picks (each pick of a dead key reclaims it). Throws NOT_FOUND when no key is
   * free, UNAVAILABLE when the picks ran out after a mass expiry.
   */
  acquire(now: number): KeyInfo {
    now = this.tick(now);
    this.states.catchUp(now, this.budget);
    for (let work = 0; work < this.budget * 4; work++) {
      if (this.free.size === 0) {
        // A block or cooldown that ended but was not swept yet is a free key: settle it instead of missing.
        const head = this.blocks.head;
        if (head !== -1 && this.blockedUntil.get(head) <= now) {
          this.states.settle(head, now);
          continue;
        }
        const cooled = this.states.cooling.top;
        if (cooled !== -1 && this.slots.cooldownUntil.get(cooled) <= now) {
          this.states.settle(cooled, now);
          continue;
        }
        this.counters.acquireMisses++;
        throw new KeyPoolError("not-found", messages.noFreeKey(this.lives.size, this.states.cooling.size));
      }
      const slot = this.free.at(this.random.int(this.free.size));
      if (this.expiresAt.get(slot) <= now) {
        this.states.purge(slot);
        this.counters.expired++;
        continue;
      }
      this.free.remove(slot);
      this.tokens.leaseBytes(this.slots.leases.page(slot), this.slots.leases.offset(slot));
      this.slots.fencing.set(slot, this.slots.fencing.get(slot) + 1);
      this.slots.acquiredAt.set(slot, now);
      this.states.block(slot, now + this.options.blockTtlMs);
      this.counters.acquired++;
      return this.slots.info(slot, now);
    }
    throw new KeyPoolError("unavailable", messages.reclaiming());
  }

  /**
   * Unblocks `key`. A free key stays free (OK). With `leaseId`, a key blocked under another lease
   * is left untouched (FAILED_PRECONDITION), and so is a cooling key (its lease ended). With
   * `cooldownMs` > 0 the key, free or just released, becomes COOLING until now + cooldownMs (a
   * cooling key keeps the later deadline); its life is unchanged. O(1), O(log n) with a cooldown.
   * Throws INVALID_ARGUMENT for a malformed key or lease id or a cooldown past maxCooldownMs.
   */
  release(key: string, leaseId: string | undefined, now: number, cooldownMs = 0): KeyInfo {
    now = this.tick(now);
    if (leaseId) assertLeaseId(leaseId);
    assertCooldown(cooldownMs, this.maxCooldownMs);
    const slot = this.find(key, now);
    if (this.blockedUntil.get(slot) !== 0) {
      if (leaseId && !this.slots.hasLease(slot, leaseId)) {
        throw new KeyPoolError("failed-precondition", messages.notCurrentLease());
      }
      if (cooldownMs === 0) this.states.unblock(slot);
      this.counters.released++;
    } else if (leaseId && this.slots.cooldownUntil.get(slot) !== 0) {
      throw new KeyPoolError("failed-precondition", messages.coolingNotYourLease());
    }
    if (cooldownMs > 0) this.states.cool(slot, now + cooldownMs);
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
    return renewLeases(this.states, leases, this.tick(now), this.leaseRules, onRenewed);
  }

  /** `renewLease` with this pool's rules. O(1). */
  private renewChecked(key: string, leaseId: string, now: number): number | LeaseRefusal {
    return renewLease(this.states, key, leaseId, now, this.leaseRules);
  }

  /** Purges `key` in any state. O(1). Throws NOT_FOUND. */
  delete(key: string, now: number): void {
    now = this.tick(now);
    this.states.purge(this.find(key, now));
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
    const slot = this.states.live(key, now);
    return slot < 0 ? undefined : this.extend(slot, now);
  }

  /** Whether `key` is a well-formed key the pool holds alive at `now` (a dead one is reclaimed). O(1). */
  isLive(key: string, now: number): boolean {
    return isKey(key) && this.states.live(key, this.tick(now)) >= 0;
  }

  /** Describes `key`. O(1). Throws NOT_FOUND. */
  get(key: string, now: number): KeyInfo {
    now = this.tick(now);
    return this.slots.info(this.find(key, now), now);
  }

  /** Counts keys after a bounded catch-up (exact unless a mass expiry is still being swept). O(1). */
  stats(now: number): PoolStats {
    now = this.tick(now);
    this.states.catchUp(now, this.budget);
    const cooling = this.states.cooling.size;
    return {
      total: this.lives.size,
      free: this.lives.size - this.blocks.size - cooling,
      blocked: this.blocks.size,
      cooling,
      blockTtlMs: this.options.blockTtlMs,
      keepaliveTtlMs: this.options.keepaliveTtlMs,
      maxKeys: this.options.maxKeys,
      maxCooldownMs: this.maxCooldownMs,
    };
  }

  /** Does up to `budget` units of expiry work; returns how many were done. O(budget). */
  sweep(now: number, budget: number): number {
    return this.states.catchUp(this.tick(now), budget);
  }

  /** The earliest pending block, cooldown or life deadline, or undefined when there is none. O(1). */
  nextDeadline(): number | undefined {
    return this.states.nextDeadline();
  }

  /** A time at or before every pending deadline (Infinity: none), cheaper than `nextDeadline`. O(1). */
  deadlineBound(): number {
    return this.states.deadlineBound();
  }

  /**
   * One page of the pool's live keys (optionally of one state) in position order (see PoolSlots): O(pageSize) work,
   * see `listPage` for the cursor, the token and the exactly-once rule. Changes nothing.
   * Throws INVALID_ARGUMENT for a token of another listing.
   */
  list(query: ListQuery, now: number): ListPage {
    if (!this.instance) this.random.fill((this.instance = new Uint8Array(INSTANCE_BYTES)));
    return listPage(this.states, query, this.tick(now), this.instance);
  }

  /**
   * Puts back a key exactly as a durable log recorded it (used on recovery); see
   * `KeyStates.restore` for the order rules. O(1), O(log n) for a cooling key.
   */
  restore(info: KeyInfo, now: number): void {
    this.states.restore(info, this.tick(now), this.options.blockTtlMs);
  }

  /**
   * Throws RESOURCE_EXHAUSTED unless `n` more keys fit within maxKeys, after reclaiming up to n
   * dead keys, which makes the check exact: either every dead key is gone or n slots were freed.
   */
  private makeRoom(n: number, now: number): void {
    this.states.catchUp(now, Math.max(this.budget, n));
    if (this.lives.size + n > this.options.maxKeys) {
      throw new KeyPoolError("resource-exhausted", messages.poolFull(this.lives.size, this.options.maxKeys, n));
    }
  }

  /** Time never goes backwards inside the pool, so both deadline lists stay sorted. */
  private tick(now: number): number {
    if (now > this.lastNow) this.lastNow = now;
    return this.lastNow;
  }

  /** The slot of a live key, settling its state for `now`; throws INVALID_ARGUMENT, NOT_FOUND. */
  private find(key: string, now: number): number {
    assertKey(key);
    const slot = this.states.live(key, now);
    if (slot < 0) throw new KeyPoolError("not-found", NOT_FOUND_MESSAGE[slot as typeof UNKNOWN | typeof DEAD]);
    return slot;
  }

  private extend(slot: number, now: number): KeyInfo {
    this.states.extendLife(slot, now + this.options.keepaliveTtlMs);
    return this.slots.info(slot, now);
  }

  private create(now: number): number {
    let key = this.tokens.key();
    while (this.states.find(key) !== -1) key = this.tokens.key(); // 2^-144: never, but never wrong
    const slot = this.states.allocate(key, now, now + this.options.keepaliveTtlMs);
    this.free.add(slot);
    return slot;
  }
}
