import type { Clock } from "../../clock.js";
import type { ScriptName, ScriptReply } from "./commands.js";
import type { RedisConnection } from "./connection.js";
import { ABSENT_REPLIES } from "./absent-replies.js";
import type { RedisPoolSettings } from "./pool-keys.js";
import type { ReplicaWait } from "./replica-wait.js";
import { sameSettings } from "./script-events.js";
import type { ReplyTail } from "./script-events.js";
import { ScriptRunner } from "./script-runner.js";
import { SettingsGate } from "./settings-gate.js";
import type { SettingsWanted } from "./settings-gate.js";

/** How one shard's scripts run: where, by which clock, and what the shard wants of its settings. */
export interface ShardScriptsOptions extends SettingsWanted {
  readonly keys: readonly string[];
  readonly clock: Clock | undefined;
  readonly budget: number;
  readonly waitReplicas: ReplicaWait | undefined;
}

/**
 * The scripts of one shard behind its settings gate: a call runs once the pool's settings were
 * checked (see SettingsGate), and a pool found without settings (its Redis restarted empty, or
 * new) gets them from this store and the script runs again (it changed nothing the first time):
 * for any call, unless on demand; then only for a call that adds keys or while the pool still
 * holds keys, and otherwise the call answers as on an empty pool (see absent-replies.ts). One
 * round trip (three when the settings are written).
 */
export class ShardScripts {
  /** What the replies' tails said so far (event counts, free keys, the pool's settings). */
  readonly tail: ReplyTail;
  /** The shard's settings gate (serving state, refusals, the check's outcome). */
  readonly gate: SettingsGate;
  private readonly runner: ScriptRunner;

  constructor(connection: RedisConnection, private readonly options: ShardScriptsOptions) {
    const { keys, clock, budget, waitReplicas } = options;
    this.runner = new ScriptRunner(connection, { keys, clock, budget, waitReplicas });
    this.tail = this.runner.tail;
    this.gate = new SettingsGate(connection, this.runner, options);
  }

  /** The pool's settings as of the latest reply; the store's own before the first. O(1). */
  get settings(): RedisPoolSettings {
    return this.tail.settings ?? this.options.settings;
  }

  /** Runs `name` with `args` (after now and the budget), through the gate; its reply without the tail. */
  async run(name: ScriptName, args: readonly (string | number)[]): Promise<ScriptReply> {
    await this.gate.enter();
    const reply = await this.runner.run(name, args);
    if (reply[0] !== "no-settings") {
      this.followSettings();
      return reply;
    }
    const absent = ABSENT_REPLIES[name];
    if (absent && Number(reply[1]) === 0 && this.options.onDemand) return absent(args);
    await this.gate.restore(this.settings);
    return this.runner.run(name, args);
  }

  /**
   * On demand (without `update`), a pool whose settings changed since they were checked (made by
   * another server after this one found it absent, or updated) is checked again on the next call,
   * which then answers FAILED_PRECONDITION: the reply just received followed the pool's settings,
   * as every script does. O(1).
   */
  private followSettings(): void {
    const { onDemand, update, settings } = this.options;
    const now = this.tail.settings;
    if (onDemand && !update && now && !sameSettings(now, settings)) this.gate.recheck();
  }
}
