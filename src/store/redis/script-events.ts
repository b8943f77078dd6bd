import type { PoolCounters } from "../../pool/index.js";
import type { ScriptReply } from "./commands.js";

/**
 * The events every script counts in its `DID` table and reports after its reply, in this order.
 * Each is counted by the script that caused it, so a store counts what its own calls did.
 */
export const EVENT_NAMES = [
  "generated",
  "acquired",
  "released",
  "autoReleased",
  "expired",
  "deleted",
  "acquireMisses",
] as const satisfies readonly (keyof PoolCounters)[];

/** Fields `finish` appends after the event counts: the pool's free keys once the script ran. */
const TAIL_AFTER_EVENTS = 1;

/**
 * Lua for the prelude: the `DID` table and `finish(reply)`, which every script's reply passes
 * through (see commands.ts). `finish` publishes once on `CHANNEL` when the script freed or added
 * keys (a waiter on any server may now get one), then appends the DID counts and the number of
 * free keys to the reply. O(1) plus one PUBLISH, O(subscribers).
 */
export const EVENTS_LUA = `
local DID = { ${EVENT_NAMES.map((name) => `${name} = 0`).join(", ")} }

local function finish(reply)
  local freed = DID.generated + DID.released + DID.autoReleased
  if freed > 0 then redis.call('PUBLISH', CHANNEL, freed) end
  for _, name in ipairs({ ${EVENT_NAMES.map((name) => `'${name}'`).join(", ")} }) do
    reply[#reply + 1] = DID[name]
  end
  reply[#reply + 1] = free_count()
  return reply
end
`;

/**
 * What the tails of one store's script replies said: lifetime event counts of its own scripts
 * (servers sharing a pool each count what their calls did; the pool-wide total is the sum over
 * servers) and the pool's free keys as of the latest reply.
 */
export class ScriptEventCounts {
  private readonly counts: PoolCounters = {
    generated: 0, acquired: 0, released: 0, autoReleased: 0, expired: 0, deleted: 0, acquireMisses: 0,
  };
  /** Free keys in the pool when the latest script ran; undefined before the first reply. */
  freeCount: number | undefined;

  /** Adds the counts a script appended to its reply and notes the free count; returns the reply without them. O(1). */
  take(raw: ScriptReply): ScriptReply {
    const at = raw.length - EVENT_NAMES.length - TAIL_AFTER_EVENTS;
    EVENT_NAMES.forEach((name, i) => (this.counts[name] += Number(raw[at + i])));
    this.freeCount = Number(raw[at + EVENT_NAMES.length]);
    return raw.slice(0, at);
  }

  /** A copy of the counts so far. O(1). */
  snapshot(): PoolCounters {
    return { ...this.counts };
  }
}
