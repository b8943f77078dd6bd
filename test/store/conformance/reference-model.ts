import type { KeyPoolErrorCode } from "../../../src/pool/index.js";
import type { KeyInfo, PoolStats } from "../../../src/pool/index.js";

interface ModelKey {
  readonly createdAt: number;
  expiresAt: number;
  /** Set only while blocked (a block that ended is cleared on the next look). */
  blockedUntil?: number | undefined;
  leaseId?: string | undefined;
  /** Acquisitions so far: the latest lease's fencing token. */
  fencing: number;
  acquiredAt?: number | undefined;
  /** Set only while cooling (a cooldown that ended is cleared on the next look). */
  cooldownUntil?: number | undefined;
}

/** What the contract says a call must come to: a value, or an error code. */
export type Expected<T> = { readonly ok: T } | { readonly code: KeyPoolErrorCode };

/** Settings the model needs. */
export interface ModelSettings {
  readonly blockTtlMs: number;
  readonly keepaliveTtlMs: number;
  readonly maxKeys: number;
  readonly maxLeaseMs?: number;
  readonly maxCooldownMs?: number;
}

/** The longest cooldown when the settings do not say: 1 h, as documented. */
const DEFAULT_MAX_COOLDOWN_MS = 3600 * 1000;

/**
 * The KeyService contract written as plainly as possible: a Map scanned in full whenever that is
 * simplest. O(n) everywhere, obviously right, for model-based tests only. Callers pass well-formed
 * keys; argument shapes are checked by the case tables, not here.
 */
export class ReferenceModel {
  private readonly keys = new Map<string, ModelKey>();

  constructor(private readonly settings: ModelSettings) {}

  /** Free live keys at `now`. */
  freeKeys(now: number): string[] {
    return this.live(now).filter((k) => this.keys.get(k)!.blockedUntil === undefined && this.keys.get(k)!.cooldownUntil === undefined);
  }

  /** How `get(key)` must answer. */
  get(key: string, now: number): Expected<KeyInfo> {
    const k = this.look(key, now);
    return k ? { ok: this.info(key, k) } : { code: "not-found" };
  }

  /** How `generate(count)` must answer: how many keys it makes, or why it makes none. */
  generate(count: number, now: number): Expected<number> {
    const n = count === 0 ? 1 : count;
    if (this.live(now).length + n > this.settings.maxKeys) return { code: "resource-exhausted" };
    return { ok: n };
  }

  /** How `import(keys)` must answer (keys well-formed and distinct): ALREADY_EXISTS for a live one, then the capacity. */
  import(keys: readonly string[], now: number): Expected<number> {
    if (keys.some((key) => this.look(key, now) !== undefined)) return { code: "already-exists" };
    if (this.live(now).length + keys.length > this.settings.maxKeys) return { code: "resource-exhausted" };
    return { ok: keys.length };
  }

  /** The live keys at `now` as the store must describe them, by key. */
  list(now: number): KeyInfo[] {
    return this.live(now).sort().map((key) => this.info(key, this.look(key, now)!));
  }

  /** Records keys a store made at `now`. */
  add(made: readonly KeyInfo[], now: number): void {
    for (const { key } of made) this.keys.set(key, { createdAt: now, expiresAt: now + this.settings.keepaliveTtlMs, fencing: 0 });
  }

  /** Records that the store handed out `key`, which must be free, under `leaseId`; returns its info. */
  acquire(key: string, leaseId: string, now: number): KeyInfo {
    const k = this.look(key, now)!;
    k.blockedUntil = now + this.settings.blockTtlMs;
    k.leaseId = leaseId;
    k.fencing++;
    k.acquiredAt = now;
    return this.info(key, k);
  }

  /** How `renew(key, leaseId)` must answer (a refusal is `code` plus the stream's reason); applies it. */
  renew(key: string, leaseId: string, now: number): Expected<KeyInfo> & { readonly reason?: string } {
    const k = this.look(key, now);
    if (!k) return { code: "not-found", reason: "not-found" };
    if (k.blockedUntil === undefined || k.leaseId !== leaseId) return { code: "failed-precondition", reason: "lease-ended" };
    const until = now + this.settings.blockTtlMs;
    if (until > k.acquiredAt! + (this.settings.maxLeaseMs ?? 24 * 3600_000)) return { code: "failed-precondition", reason: "max-lease" };
    k.blockedUntil = until;
    k.expiresAt = now + this.settings.keepaliveTtlMs;
    return { ok: this.info(key, k) };
  }

  /**
   * How `release(key, leaseId, cooldownMs)` must answer; applies it when it succeeds. A cooldown
   * cools a blocked or free key; a cooling key keeps the later deadline and refuses a lease id.
   */
  release(key: string, leaseId: string | undefined, now: number, cooldownMs = 0): Expected<KeyInfo> {
    const k = this.look(key, now);
    if (!k) return { code: "not-found" };
    if (k.blockedUntil !== undefined && leaseId && leaseId !== k.leaseId) return { code: "failed-precondition" };
    if (k.cooldownUntil !== undefined && leaseId) return { code: "failed-precondition" };
    k.blockedUntil = k.leaseId = k.acquiredAt = undefined;
    if (cooldownMs > 0) k.cooldownUntil = Math.max(k.cooldownUntil ?? 0, now + cooldownMs);
    return { ok: this.info(key, k) };
  }

  /** How `delete(key)` must answer; applies it when it succeeds. */
  delete(key: string, now: number): Expected<undefined> {
    if (!this.look(key, now)) return { code: "not-found" };
    this.keys.delete(key);
    return { ok: undefined };
  }

  /** How `keepAlive(key)` must answer; applies it when it succeeds. */
  keepAlive(key: string, now: number): Expected<KeyInfo> {
    const k = this.look(key, now);
    if (!k) return { code: "not-found" };
    k.expiresAt = now + this.settings.keepaliveTtlMs;
    return { ok: this.info(key, k) };
  }

  /** How `stats()` must answer. */
  stats(now: number): PoolStats {
    const live = this.live(now);
    const blocked = live.filter((k) => this.look(k, now)!.blockedUntil !== undefined).length;
    const cooling = live.filter((k) => this.look(k, now)!.cooldownUntil !== undefined).length;
    return {
      total: live.length,
      free: live.length - blocked - cooling,
      blocked,
      cooling,
      blockTtlMs: this.settings.blockTtlMs,
      keepaliveTtlMs: this.settings.keepaliveTtlMs,
      maxKeys: this.settings.maxKeys,
      maxCooldownMs: this.settings.maxCooldownMs ?? DEFAULT_MAX_COOLDOWN_MS,
    };
  }

  private live(now: number): string[] {
    return [...this.keys.keys()].filter((k) => this.look(k, now) !== undefined);
  }

  /** The key if alive at `now`, with a block that ended cleared; a dead key is forgotten. */
  private look(key: string, now: number): ModelKey | undefined {
    const k = this.keys.get(key);
    if (!k) return undefined;
    if (k.expiresAt <= now) {
      this.keys.delete(key);
      return undefined;
    }
    if (k.blockedUntil !== undefined && k.blockedUntil <= now) k.blockedUntil = k.leaseId = k.acquiredAt = undefined;
    if (k.cooldownUntil !== undefined && k.cooldownUntil <= now) k.cooldownUntil = undefined;
    return k;
  }

  private info(key: string, k: ModelKey): KeyInfo {
    const blocked = k.blockedUntil !== undefined;
    return {
      key,
      state: blocked ? "blocked" : k.cooldownUntil !== undefined ? "cooling" : "free",
      leaseId: blocked ? k.leaseId : undefined,
      blockedUntil: k.blockedUntil,
      expiresAt: k.expiresAt,
      createdAt: k.createdAt,
      fencingToken: k.fencing,
      acquiredAt: blocked ? k.acquiredAt : undefined,
      cooldownUntil: k.cooldownUntil,
    };
  }
}
