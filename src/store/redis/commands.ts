import { createHash } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import { DELETE_LUA, GET_LUA, KEEPALIVE_LUA, KEEPALIVE_MANY_LUA, RELEASE_LUA, RENEW_LUA, RENEW_MANY_LUA } from "./key-scripts.js";
import { LUA_PRELUDE } from "./lua-prelude.js";
import { POOL_KEY_NAMES } from "./pool-keys.js";
import { LIST_LUA } from "./listing-script.js";
import { ACQUIRE_LUA, GENERATE_LUA, IMPORT_LUA, STATS_LUA, SWEEP_LUA } from "./pool-scripts.js";
import { OPEN_LUA } from "./settings-script.js";

/** A connection scripts run on: one Redis node, or a Redis Cluster (routed by the keys' slot). */
export type RedisClient = Redis | Cluster;

/**
 * Every script by its ioredis command name; each gets the prelude and the pool's keys. All but
 * the sweep and the open script need the pool's settings: without them they change nothing and
 * reply "no-settings" and whether the pool holds keys (the store then restores them and runs the
 * script again, or answers as an empty pool would: see absent-replies.ts).
 */
const SCRIPTS = {
  keypoolGenerate: GENERATE_LUA,
  keypoolImport: IMPORT_LUA,
  keypoolAcquire: ACQUIRE_LUA,
  keypoolRelease: RELEASE_LUA,
  keypoolDelete: DELETE_LUA,
  keypoolKeepAlive: KEEPALIVE_LUA,
  keypoolKeepAliveMany: KEEPALIVE_MANY_LUA,
  keypoolRenew: RENEW_LUA,
  keypoolRenewMany: RENEW_MANY_LUA,
  keypoolGet: GET_LUA,
  keypoolStats: STATS_LUA,
  keypoolList: LIST_LUA,
  keypoolSweep: SWEEP_LUA,
  keypoolOpen: OPEN_LUA,
} as const;

/** Scripts that run on a pool without settings. */
const WITHOUT_SETTINGS: ReadonlySet<string> = new Set<ScriptName>(["keypoolSweep", "keypoolOpen"]);

/** The name of one keypool script. */
export type ScriptName = keyof typeof SCRIPTS;

/**
 * A script's reply: a status ("ok", a KeyPoolErrorCode, or "no-settings"/"retry"/"migrating"),
 * then its fields (then, raw, the tail of script-events.ts).
 */
export type ScriptReply = readonly (string | number)[];

type ScriptCall = (...keysThenArgs: (string | number)[]) => Promise<ScriptReply>;

/**
 * Refuses to run while the shard's slot is being migrated to another cluster node (resharding).
 * Redis deletes a key a script empties; touching it again in a MIGRATING slot fails mid-script
 * ("non local key") after earlier writes, which would break the pool's invariants. A key that
 * never exists (the probe) fails the same way at once, before any write, so the script answers
 * unavailable instead and the caller retries; on the importing node (ASKING) it runs. O(1).
 */
const MIGRATION_GUARD = `
if type(redis.pcall('EXISTS', KEYS[1] .. ':migration-probe')) == 'table' then return finish({'unavailable', 'migrating'}) end
`;

/** A script's whole Lua text (prelude included) and its SHA-1, for EVAL and EVALSHA. */
export interface ScriptSource {
  readonly lua: string;
  readonly sha: string;
}

/**
 * The full text of `name`: the prelude, the migration guard, the body as a function, the pool's
 * settings read (a script that needs them stops at "no-settings" without them), its reply
 * through `finish`. O(1).
 */
export function scriptSource(name: ScriptName): ScriptSource {
  const gate = WITHOUT_SETTINGS.has(name)
    ? "load_settings()"
    : "if not load_settings() then return finish({'no-settings', redis.call('EXISTS', LIVES)}) end";
  const lua = `${LUA_PRELUDE}\n${MIGRATION_GUARD}\nlocal function main()\n${SCRIPTS[name]}\nend\n${gate}\nreturn finish(main())\n`;
  return { lua, sha: createHash("sha1").update(lua).digest("hex") };
}

/**
 * Registers every keypool script on `client` with `defineCommand`: each call is an EVALSHA, and
 * ioredis sends the script itself (EVAL) on a new connection or after NOSCRIPT, so a restarted or
 * failed-over Redis needs no warm-up (see scriptSource). O(1) per script; call once per client
 * (again on a client other stores share is harmless).
 */
export function defineScripts(client: RedisClient): void {
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    client.defineCommand(name, { numberOfKeys: POOL_KEY_NAMES.length, lua: scriptSource(name).lua });
  }
}

/** Runs one registered script on the pool's `keys` (see poolKeys) with `args`. One round trip. */
export function runScript(
  client: RedisClient,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<ScriptReply> {
  const call = (client as unknown as Record<ScriptName, ScriptCall>)[name];
  return call.call(client, ...keys, ...args);
}
