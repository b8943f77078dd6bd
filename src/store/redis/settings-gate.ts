import { KeyPoolError } from "../../pool/index.js";
import { Signal } from "../signal.js";
import type { RedisConnection } from "./connection.js";
import { SETTING_FIELDS } from "./pool-keys.js";
import type { RedisPoolSettings } from "./pool-keys.js";
import { expectOk } from "./replies.js";
import { sameSettings } from "./script-events.js";
import type { ScriptRunner } from "./script-runner.js";

/**
 * A pool whose settings (kept in Redis) differ from the ones a store was opened with: the store
 * refuses to serve it. `fields` names each setting that differs.
 */
export class PoolSettingsMismatch extends Error {
  override readonly name = "PoolSettingsMismatch";
  readonly fields: readonly (keyof RedisPoolSettings)[];

  constructor(
    readonly pool: string,
    readonly poolSettings: RedisPoolSettings,
    readonly wanted: RedisPoolSettings,
  ) {
    const fields = SETTING_FIELDS.filter((f) => poolSettings[f] !== wanted[f]);
    const said = fields.map((f) => `${f} ${poolSettings[f]}`).join(" and ");
    const ours = fields.map((f) => `${f} ${wanted[f]}`).join(" and ");
    super(`redis pool '${pool}' has ${said} but this store was opened with ${ours}`);
    this.fields = fields;
  }
}

/** What a store wants of its pool's settings. */
export interface SettingsWanted {
  readonly pool: string;
  /** The settings the store was opened with. */
  readonly settings: RedisPoolSettings;
  /** Overwrite the pool's settings with them instead of refusing a pool that has others. */
  readonly update: boolean;
  /**
   * A pool served on demand (see RedisStoreOptions.onDemand): the first check writes nothing
   * into a pool without settings, `restore` checks as the first check does, and a mismatch is
   * FAILED_PRECONDITION for the call, checked again on the next, rather than a refusal for good.
   */
  readonly onDemand: boolean;
  /** Runs before each check (see RedisStoreOptions.beforeCheck). */
  readonly beforeCheck: (() => Promise<void>) | undefined;
  /** The words for a mismatch (default: its own message). */
  readonly describeMismatch: ((mismatch: PoolSettingsMismatch) => string) | undefined;
}

/**
 * Lets a Redis store serve only once it has checked the pool's settings (kept in Redis) against
 * its own, on its first connection (at start, or later when Redis was down at start): a pool
 * without settings gets the store's, a pool with others is refused for good (PoolSettingsMismatch,
 * then every call UNAVAILABLE), unless `update` overwrites them. A failed check (Redis down) is
 * tried again on the next call, background sweep (RedisSweeper: a second at most for a server of
 * one pool, its idle period for one of many) or reconnection, so a server nobody calls
 * (health-drained) still comes to serve. O(1) per call once passed.
 */
export class SettingsGate {
  private passed = false;
  private refused: PoolSettingsMismatch | undefined;
  private checking: Promise<void> | undefined;
  private serving = false;
  private readonly servingSignal = new Signal<[boolean]>();
  private readonly refusedSignal = new Signal<[PoolSettingsMismatch]>();
  /** What the check found, for the start-up log; undefined until checked. */
  outcome: string | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly connection: RedisConnection,
    private readonly runner: ScriptRunner,
    private readonly wanted: SettingsWanted,
  ) {
    this.unsubscribe = connection.onServingChange((up) => {
      if (up && !this.passed) this.enter().catch(() => {});
      this.update();
    });
    // A shared connection may be up already: check now rather than at the first call.
    if (connection.isServing()) this.enter().catch(() => {});
  }

  /** Stops following the connection (it may be shared and outlive the store). Idempotent. */
  close(): void {
    this.unsubscribe();
  }

  /** The mismatch that made this gate refuse, if it did. O(1). */
  refusal(): PoolSettingsMismatch | undefined {
    return this.refused;
  }

  /**
   * Writes `settings` into a pool that has none (its Redis lost its data, say), in the open
   * script's "keep" mode: a pool that has settings keeps them. On demand, the pool's settings are
   * checked as at first (another server may have made the pool meanwhile). O(1) round trips.
   */
  async restore(settings: RedisPoolSettings): Promise<void> {
    if (!this.wanted.onDemand) {
      await this.open("keep", settings);
      return;
    }
    await this.check("keep").catch((err: unknown) => {
      throw err instanceof PoolSettingsMismatch ? this.refusedError(err) : err;
    });
  }

  /** Makes the next call check the settings again (a pool served on demand whose settings changed). O(1). */
  recheck(): void {
    if (!this.passed) return;
    this.passed = false;
    this.checking = undefined;
  }

  /** Whether the connection is up and the settings were checked and agree. O(1). */
  isServing(): boolean {
    return this.serving;
  }

  /** Calls `listener` on every change of `isServing()`; returns the unsubscribe function. O(1). */
  onServingChange(listener: (serving: boolean) => void): () => void {
    return this.servingSignal.subscribe(listener);
  }

  /** Calls `listener` once if the pool's settings turn out to differ; returns the unsubscribe function. */
  onRefused(listener: (mismatch: PoolSettingsMismatch) => void): () => void {
    return this.refusedSignal.subscribe(listener);
  }

  /**
   * Before every call: resolves at once once passed; runs (or joins) the check when the
   * connection is up; rejects UNAVAILABLE for good after a refusal. A call made while Redis is
   * down goes ahead and fails UNAVAILABLE on its own.
   */
  async enter(): Promise<void> {
    if (this.passed) return;
    if (this.refused) throw this.refusedError(this.refused);
    if (!this.connection.isServing()) return;
    const { update, onDemand } = this.wanted;
    this.checking ??= this.check(onDemand ? "peek" : update ? "replace" : "keep").then(
      () => {
        this.passed = true;
        this.update();
      },
      (err: unknown) => {
        this.checking = undefined;
        if (err instanceof PoolSettingsMismatch && !onDemand) {
          this.refused = err;
          this.refusedSignal.emit(err);
        }
        throw err instanceof PoolSettingsMismatch ? this.refusedError(err) : err;
      },
    );
    await this.checking;
  }

  /** Compares (or writes) the pool's settings; throws PoolSettingsMismatch when they differ. */
  private async check(first: "keep" | "replace" | "peek"): Promise<void> {
    const { pool, settings, beforeCheck, update } = this.wanted;
    await beforeCheck?.();
    const [had, ...before] = await this.open(first, settings);
    // On demand with `update`: a pool that exists gets this server's settings; one that does not stays unmade.
    const mode = first === "peek" && had && update && !sameSettings(this.runner.tail.settings, settings) ? "replace" : first;
    if (mode !== first) await this.open(mode, settings);
    const now = this.runner.tail.settings;
    if (had && mode !== "replace" && !sameSettings(now, settings)) throw new PoolSettingsMismatch(pool, now!, settings);
    const previous = Object.fromEntries(SETTING_FIELDS.map((f, i) => [f, before[i]!])) as unknown as RedisPoolSettings;
    this.outcome = !had ? (mode === "peek" ? "not in Redis yet: made by the first call that adds keys" : "new pool: this server's settings written")
      : mode === "replace" && !sameSettings(previous, settings) ? `updated by this server (were ${JSON.stringify(previous)})`
      : "the pool's settings match this server's";
  }

  /** The error a call gets from a pool with other settings: for good UNAVAILABLE, on demand FAILED_PRECONDITION. */
  private refusedError(mismatch: PoolSettingsMismatch): KeyPoolError {
    const said = this.wanted.describeMismatch?.(mismatch) ?? mismatch.message;
    if (this.wanted.onDemand) return new KeyPoolError("failed-precondition", said);
    return new KeyPoolError("unavailable", `${said}: this server does not serve the pool`);
  }

  /**
   * Runs the open script (see settings-script.ts) until a keypool 0.1 pool is migrated; returns
   * whether the pool had settings (1/0) and the ones it had.
   */
  private async open(mode: "keep" | "replace" | "peek", settings: RedisPoolSettings): Promise<number[]> {
    const args = [mode, ...SETTING_FIELDS.map((f) => settings[f])];
    let reply = await this.runner.run("keypoolOpen", args);
    while (reply[0] === "migrating") reply = await this.runner.run("keypoolOpen", args);
    return expectOk(reply).slice(1).map(Number);
  }

  private update(): void {
    const serving = this.passed && this.connection.isServing();
    if (serving === this.serving) return;
    this.serving = serving;
    this.servingSignal.emit(serving);
  }
}
