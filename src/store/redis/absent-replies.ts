import type { ScriptName, ScriptReply } from "./commands.js";

/**
 * What each read-only script would answer on a pool that is not in Redis (no settings, no keys),
 * for a store that must not make a pool by reading it (a named pool asked about without
 * `create`): not-found for any key and for an acquire, nothing found in batches, zero counts, an
 * empty listing. `args` are the script's own arguments (after now and the budget). Scripts that
 * add keys (generate, import) make the pool instead and have no entry. O(k) for k keys named.
 */
export const ABSENT_REPLIES: Partial<Record<ScriptName, (args: readonly (string | number)[]) => ScriptReply>> = {
  keypoolAcquire: () => ["not-found", 0, 0],
  keypoolRelease: () => ["not-found", "unknown"],
  keypoolDelete: () => ["not-found", "unknown"],
  keypoolKeepAlive: () => ["not-found", "unknown"],
  keypoolGet: () => ["not-found", "unknown"],
  keypoolRenew: () => ["not-found", "unknown"],
  keypoolKeepAliveMany: (args) => ["ok", ...args.map(() => 0)],
  keypoolRenewMany: (args) => ["ok", ...args.filter((_, i) => i % 2 === 0).flatMap(() => ["unknown", 0, 0])],
  keypoolStats: () => ["ok", 0, 0, 0],
  keypoolList: (args) => ["ok", args[2]!, 0, 0],
};
