import type { Clock } from "../../clock.js";
import { runScript, scriptSource } from "./commands.js";
import type { ScriptName, ScriptReply } from "./commands.js";
import type { RedisConnection } from "./connection.js";
import { expectReplicated, runAndWait } from "./replica-wait.js";
import type { ReplicaWait } from "./replica-wait.js";
import { ReplyTail } from "./script-events.js";

/** The scripts whose effect a caller is told about: with waitReplicas, acknowledged only once replicated. */
const WRITES: ReadonlySet<ScriptName> = new Set<ScriptName>([
  "keypoolGenerate", "keypoolImport", "keypoolAcquire", "keypoolRelease", "keypoolDelete", "keypoolKeepAlive", "keypoolKeepAliveMany",
]);

/** How one shard's scripts are run. */
export interface ScriptRunnerOptions {
  /** The shard's Redis keys, in KEYS order. */
  readonly keys: readonly string[];
  /** Judges deadlines instead of Redis TIME (tests only). */
  readonly clock: Clock | undefined;
  /** Expiry work one request may do (ARGV[2] of every script). */
  readonly budget: number;
  /** With replicas to wait for, a write is acknowledged only once they have it. */
  readonly waitReplicas: ReplicaWait | undefined;
}

/**
 * Runs a shard's scripts: ARGV starts with now ('' for Redis TIME) and the catch-up budget, and
 * every reply's tail (event counts, free count, settings) is taken into `tail`. One round trip
 * per script (script + WAIT pipelined with waitReplicas).
 */
export class ScriptRunner {
  /** What the replies' tails said so far. */
  readonly tail = new ReplyTail();

  constructor(
    private readonly connection: RedisConnection,
    private readonly options: ScriptRunnerOptions,
  ) {}

  /** Runs `name` with `args` after the standard two; its reply without the tail. */
  async run(name: ScriptName, args: readonly (string | number)[]): Promise<ScriptReply> {
    const { keys, clock, budget } = this.options;
    const all = [clock ? String(clock.now()) : "", budget, ...args];
    const { client } = this.connection;
    const wait = WRITES.has(name) ? this.options.waitReplicas : undefined;
    if (!wait) return this.tail.take(await this.connection.run(() => runScript(client, name, keys, all)));
    const { raw, acks } = await this.connection.run(() => runAndWait(client, scriptSource(name), keys, all, wait));
    const reply = this.tail.take(raw);
    expectReplicated(String(reply[0]), acks, wait, this.connection.address);
    return reply;
  }
}
