import type { KeyInfo, KeyPoolErrorCode, KeyState, LeaseEndReason, PoolOptions, PoolStats } from "../../src/pool/index.js";

/**
 * The documented shapes, restated here so the model does not trust the pool's own checks: a key
 * is 8 to 512 characters of printable ASCII without spaces.
 */
const KEY_SHAPE = /^[\x21-\x7e]{8,512}$/;
const LEASE_SHAPE = /^[A-Za-z0-9_-]{24}$/;

/** What a call should end with: a value, or an error code. */
export type Expected<T> = { readonly ok: T } | { readonly error: KeyPoolErrorCode };

/** What a renewal should end with: the key, a refusal (nothing changed), or INVALID_ARGUMENT. */
export type ExpectedRenewal = { readonly ok: KeyInfo } | { readonly refused: LeaseEndReason } | { readonly error: "invalid-argument" };

/** The longest cooldown when the options do not say: 1 h, as documented. */
const DEFAULT_MAX_COOLDOWN_MS = 3600 * 1000;
/** The longest lease when the options do not say: 24 h, as documented. */
const DEFAULT_MAX_LEASE = 24 * 3600 * 1000;

/** A key as the model holds it. */
interface Entry {
  readonly createdAt: number;
  expiresAt: number;
  blockedUntil: number | undefined;
  leaseId: string | undefined;
  /** Acquisitions so far: the latest lease's fencing token. */
  fencing: number;
  acquiredAt: number | undefined;
  /** Set only while cooling. */
  cooldownUntil: number | undefined;
}

/**
 * A naive reference for KeyPool, written straight from the proto's comments: a plain Map of
 * key -> deadlines, settled whenever a key is looked at and counted by scanning. O(n) and
 * obviously right, which is the point.
 */
export class ReferencePool {
  private readonly entries = new Map<string, Entry>();
  /** The latest time any call passed in. */
  now = 0;

  constructor(readonly options: PoolOptions) {}

  /** Every live key, in no particular order. O(n). */
  liveKeys(): string[] {
    return [...this.entries.keys()].filter((key) => this.live(key) !== undefined);
  }

  /** Every live key nobody holds and nobody parked. O(n). */
  freeKeys(): string[] {
    return this.liveKeys().filter((key) => this.stateOf(this.entries.get(key)!) === "free");
  }

  /** Every live key in `state`. O(n). */
  keysIn(state: KeyState | undefined): string[] {
    return this.liveKeys().filter((key) => state === undefined || this.stateOf(this.entries.get(key)!) === state);
  }

  /** Every live key somebody holds. O(n). */
  blockedKeys(): string[] {
    return this.liveKeys().filter((key) => this.entries.get(key)!.blockedUntil !== undefined);
  }

  /** The current lease of `key`, if it is live and blocked. */
  leaseOf(key: string): string | undefined {
    return this.live(key)?.leaseId;
  }

  /** The earliest deadline still ahead of `time`, if any. O(n). */
  nextDeadline(time: number): number | undefined {
    const ahead = [...this.entries.values()]
      .flatMap((e) => [e.expiresAt, e.blockedUntil ?? Infinity, e.cooldownUntil ?? Infinity])
      .filter((t) => t > time && t !== Infinity);
    return ahead.length === 0 ? undefined : Math.min(...ahead);
  }

  /** How many keys GenerateKeys should return, or its error. */
  generate(count: number, now: number): Expected<number> {
    if (!Number.isInteger(count) || count < 0 || count > 1000) return { error: "invalid-argument" };
    this.tick(now);
    const n = count === 0 ? 1 : count;
    if (this.liveKeys().length + n > this.options.maxKeys) return { error: "resource-exhausted" };
    return { ok: n };
  }

  /** ImportKeys, from the proto: the keys it should add (all or none), or its error. */
  import(keys: readonly string[], now: number): Expected<string[]> {
    this.tick(now);
    if (keys.length < 1 || keys.length > 1000) return { error: "invalid-argument" };
    if (keys.some((k) => !KEY_SHAPE.test(k))) return { error: "invalid-argument" };
    if (new Set(keys).size < keys.length || keys.some((k) => this.live(k))) return { error: "already-exists" };
    if (this.liveKeys().length + keys.length > this.options.maxKeys) return { error: "resource-exhausted" };
    return { ok: [...keys] };
  }

  /** Records keys the pool generated or imported, and what each should look like. */
  added(keys: readonly KeyInfo[]): KeyInfo[] {
    return keys.map((k) => {
      const e: Entry = {
        createdAt: this.now, expiresAt: this.now + this.options.keepaliveTtlMs, blockedUntil: undefined, leaseId: undefined,
        fencing: 0, acquiredAt: undefined, cooldownUntil: undefined,
      };
      this.entries.set(k.key, e);
      return this.info(k.key, e);
    });
  }

  /** The keys AcquireKey may hand out, or NOT_FOUND. */
  acquire(now: number): Expected<string[]> {
    this.tick(now);
    const free = this.freeKeys();
    return free.length === 0 ? { error: "not-found" } : { ok: free };
  }

  /** Records the key the pool handed out and the KeyInfo it should have answered with. */
  acquired(key: string, leaseId: string): KeyInfo {
    const e = this.entries.get(key)!;
    e.blockedUntil = this.now + this.options.blockTtlMs;
    e.leaseId = leaseId;
    e.fencing++;
    e.acquiredAt = this.now;
    return this.info(key, e);
  }

  /** RenewLease, from the proto: only the current lease, never past acquired_at + max lease. */
  renew(key: string, leaseId: string, now: number): ExpectedRenewal {
    this.tick(now);
    if (!KEY_SHAPE.test(key) || !LEASE_SHAPE.test(leaseId)) return { error: "invalid-argument" };
    const e = this.live(key);
    if (!e) return { refused: "not-found" };
    if (e.blockedUntil === undefined || e.leaseId !== leaseId) return { refused: "lease-ended" };
    const until = this.now + this.options.blockTtlMs;
    if (until > e.acquiredAt! + (this.options.maxLeaseMs ?? DEFAULT_MAX_LEASE)) return { refused: "max-lease" };
    e.blockedUntil = until;
    e.expiresAt = this.now + this.options.keepaliveTtlMs;
    return { ok: this.info(key, e) };
  }

  /** ReleaseKey, from the proto, with the cooldown rules of issue 13. */
  release(key: string, leaseId: string | undefined, now: number, cooldownMs = 0): Expected<KeyInfo> {
    this.tick(now);
    if (leaseId && !LEASE_SHAPE.test(leaseId)) return { error: "invalid-argument" };
    const max = this.options.maxCooldownMs ?? DEFAULT_MAX_COOLDOWN_MS;
    if (!Number.isInteger(cooldownMs) || cooldownMs < 0 || cooldownMs > max) return { error: "invalid-argument" };
    return this.withLive(key, (e): Expected<KeyInfo> => {
      if (e.blockedUntil !== undefined && leaseId && leaseId !== e.leaseId) return { error: "failed-precondition" };
      if (e.cooldownUntil !== undefined && leaseId) return { error: "failed-precondition" };
      e.blockedUntil = undefined;
      e.leaseId = undefined;
      e.acquiredAt = undefined;
      if (cooldownMs > 0) e.cooldownUntil = Math.max(e.cooldownUntil ?? 0, this.now + cooldownMs);
      return { ok: this.info(key, e) };
    });
  }

  delete(key: string, now: number): Expected<undefined> {
    this.tick(now);
    return this.withLive(key, () => {
      this.entries.delete(key);
      return { ok: undefined };
    });
  }

  keepAlive(key: string, now: number): Expected<KeyInfo> {
    this.tick(now);
    return this.withLive(key, (e) => {
      e.expiresAt = this.now + this.options.keepaliveTtlMs;
      return { ok: this.info(key, e) };
    });
  }

  get(key: string, now: number): Expected<KeyInfo> {
    this.tick(now);
    return this.withLive(key, (e) => ({ ok: this.info(key, e) }));
  }

  /** Exact counts, by scanning. */
  stats(now: number): PoolStats {
    this.tick(now);
    const total = this.liveKeys().length;
    const free = this.freeKeys().length;
    const cooling = this.keysIn("cooling").length;
    const { blockTtlMs, keepaliveTtlMs, maxKeys } = this.options;
    const maxCooldownMs = this.options.maxCooldownMs ?? DEFAULT_MAX_COOLDOWN_MS;
    return { total, free, blocked: total - free - cooling, cooling, blockTtlMs, keepaliveTtlMs, maxKeys, maxCooldownMs };
  }

  /** Time never goes backwards. */
  tick(now: number): void {
    this.now = Math.max(this.now, now);
  }

  private withLive<T>(key: string, then: (e: Entry) => Expected<T>): Expected<T> {
    if (!KEY_SHAPE.test(key)) return { error: "invalid-argument" };
    const e = this.live(key);
    return e ? then(e) : { error: "not-found" };
  }

  /** The entry of a live key with its block settled; forgets a dead key. */
  private live(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= this.now) {
      this.entries.delete(key);
      return undefined;
    }
    if (e.blockedUntil !== undefined && e.blockedUntil <= this.now) {
      e.blockedUntil = undefined;
      e.leaseId = undefined;
      e.acquiredAt = undefined;
    }
    if (e.cooldownUntil !== undefined && e.cooldownUntil <= this.now) e.cooldownUntil = undefined;
    return e;
  }

  private stateOf(e: Entry): KeyState {
    return e.blockedUntil !== undefined ? "blocked" : e.cooldownUntil !== undefined ? "cooling" : "free";
  }

  private info(key: string, e: Entry): KeyInfo {
    return {
      key,
      state: this.stateOf(e),
      leaseId: e.leaseId,
      blockedUntil: e.blockedUntil,
      expiresAt: e.expiresAt,
      createdAt: e.createdAt,
      fencingToken: e.fencing,
      acquiredAt: e.acquiredAt,
      cooldownUntil: e.cooldownUntil,
    };
  }
}
