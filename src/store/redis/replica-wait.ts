import { Cluster } from "ioredis";
import type { Redis } from "ioredis";
import { KeyPoolError } from "../../pool/index.js";
import type { ScriptReply, ScriptSource } from "./commands.js";

/** `--redis-wait-replicas` and `--redis-wait-timeout`: how many replicas must have a write. */
export interface ReplicaWait {
  readonly replicas: number;
  readonly timeoutMs: number;
}

/** A script's raw reply and how many replicas acknowledged it. */
export interface WaitedReply {
  readonly raw: ScriptReply;
  readonly acks: number;
}

/** Slot-map refreshes one call may make after MOVED before it answers UNAVAILABLE. */
const MAX_MOVED = 3;

/**
 * Runs one script and `WAIT replicas timeout` in ONE pipeline, so both reach the same node
 * (in a cluster, the shard's master; a keyless WAIT sent alone would go to any node) and WAIT
 * covers the script. EVALSHA first; on NOSCRIPT (the script did not run) the pipeline is sent
 * again with EVAL. ioredis does not follow a redirect inside a pipeline with a write in it, so
 * on MOVED (the script did not run: a failover or reshard moved the slot) the slot map is
 * re-read and the pipeline sent again, at most MAX_MOVED times; ASK (the slot is half-way to
 * another node) answers UNAVAILABLE. A few round trips at most; the WAIT lasts until the
 * replicas acknowledge or the timeout passes.
 */
export async function runAndWait(
  client: Redis | Cluster,
  script: ScriptSource,
  keys: readonly string[],
  args: readonly (string | number)[],
  wait: ReplicaWait,
): Promise<WaitedReply> {
  let command: "EVALSHA" | "EVAL" = "EVALSHA";
  for (let moved = 0; ; ) {
    const results = await client
      .pipeline()
      .call(command, command === "EVALSHA" ? script.sha : script.lua, keys.length, ...keys, ...args)
      .call("WAIT", wait.replicas, wait.timeoutMs)
      .exec();
    const [[scriptErr, raw], [waitErr, acks]] = results as [[Error | null, unknown], [Error | null, unknown]];
    const said = scriptErr?.message ?? "";
    if (said.startsWith("NOSCRIPT") && command === "EVALSHA") {
      command = "EVAL";
      continue;
    }
    if (said.startsWith("MOVED ") && client instanceof Cluster && moved++ < MAX_MOVED) {
      await new Promise<void>((resolve) => client.refreshSlotsCache(() => resolve()));
      continue;
    }
    if (said.startsWith("MOVED ") || said.startsWith("ASK ")) {
      throw new KeyPoolError("unavailable", `this part of the pool is moving between Redis Cluster nodes (${said.split(" ", 1)[0]}); retry shortly`);
    }
    if (scriptErr) throw scriptErr;
    if (waitErr) throw waitErr;
    return { raw: raw as ScriptReply, acks: Number(acks) };
  }
}

/**
 * Throws UNAVAILABLE when a script that changed the pool (status "ok") was acknowledged by fewer
 * replicas than asked: the write happened on the primary and may be lost in a failover, so the
 * caller must not rely on it; a retry is safe. O(1).
 */
export function expectReplicated(status: string, acks: number, wait: ReplicaWait, where: string): void {
  if (status !== "ok" || acks >= wait.replicas) return;
  throw new KeyPoolError(
    "unavailable",
    `redis at ${where} copied this write to ${acks} of the ${wait.replicas} replicas --redis-wait-replicas asks for ` +
      `within ${wait.timeoutMs} ms: the write may have happened but a failover could undo it; retry`,
  );
}
