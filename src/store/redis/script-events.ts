import type { PoolCounters } from "../../pool/index.js";
import type { ScriptReply } from "./commands.js";
import { SETTING_FIELDS } from "./pool-keys.js";
import type { RedisPoolSettings } from "./pool-keys.js";

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

/** Fields of every reply's tail: the event counts, the pool's free keys, its settings (0: none). */
const TAIL_LENGTH = EVENT_NAMES.length + 1 + SETTING_FIELDS.length;

/**
 * Lua for the prelude: the `DID` table and `finish(reply)`, which every script's reply passes
 * through (see commands.ts). `finish` publishes once on `CHANNEL` when the script put keys into
 * the free array (generated, imported, released, a block or cooldown ended: a waiter on any
 * server may now get one), then appends the tail: the DID counts, the
 * number of free keys and the pool's settings as the script read them (0s when it has none).
 * O(1) plus one PUBLISH, O(subscribers).
 */
export const EVENTS_LUA = `
local DID = { ${EVENT_NAMES.map((name) => `${name} = 0`).join(", ")} }

local function finish(reply)
  if FREED > 0 then redis.call('PUBLISH', CHANNEL, FREED) end
  for _, name in ipairs({ ${EVENT_NAMES.map((name) => `'${name}'`).join(", ")} }) do
    reply[#reply + 1] = DID[name]
  end
  reply[#reply + 1] = free_count()
  for _, v in ipairs({ BLOCK_TTL or 0, KEEPALIVE_TTL or 0, MAX_KEYS or 0, MAX_LEASE or 0, MAX_COOLDOWN or 0 }) do reply[#reply + 1] = v end
  return reply
end
`;

/**
 * What the tails of one store's script replies said: lifetime event counts of its own scripts
 * (servers sharing a pool each count what their calls did; the pool-wide total is the sum over
 * servers), and the pool's free keys and settings as of the latest reply.
 */
export class ReplyTail {
  private readonly counts: PoolCounters = {
    generated: 0, acquired: 0, released: 0, autoReleased: 0, expired: 0, deleted: 0, acquireMisses: 0,
  };
  /** Free keys in the pool when the latest script ran; undefined before the first reply. */
  freeCount: number | undefined;
  /** The pool's settings as the latest script that found some read them. */
  settings: RedisPoolSettings | undefined;

  /** Takes the tail off a script's reply (counting its events); returns the reply without it. O(1). */
  take(raw: ScriptReply): ScriptReply {
    const at = raw.length - TAIL_LENGTH;
    EVENT_NAMES.forEach((name, i) => (this.counts[name] += Number(raw[at + i])));
    this.freeCount = Number(raw[at + EVENT_NAMES.length]);
    const values = raw.slice(at + EVENT_NAMES.length + 1).map(Number);
    const settings = Object.fromEntries(SETTING_FIELDS.map((f, i) => [f, values[i]!])) as unknown as RedisPoolSettings;
    if (settings.blockTtlMs > 0 && !sameSettings(this.settings, settings)) this.settings = settings;
    return raw.slice(0, at);
  }

  /** A copy of the counts so far. O(1). */
  snapshot(): PoolCounters {
    return { ...this.counts };
  }
}

/** Whether two sets of settings are the same. O(1). */
export function sameSettings(a: RedisPoolSettings | undefined, b: RedisPoolSettings): boolean {
  return a !== undefined && SETTING_FIELDS.every((f) => a[f] === b[f]);
}
