import { BACKFILL_LUA } from "./listing-script.js";
import { LEGACY_FREE_NAME, SETTING_FIELDS } from "./pool-keys.js";

/** Free keys one open step moves from a keypool 0.1 SET into the free array. */
export const MIGRATE_CHUNK = 1_000;

/**
 * The script a store runs when it opens a pool (body; the prelude is prepended by commands.ts).
 * ARGV: now, budget, mode ("keep", "replace" or "peek"), then the settings in SETTING_FIELDS order.
 *
 * First, a pool made by keypool 0.1 (free keys in a SET) has up to MIGRATE_CHUNK of them moved
 * into the free array per run, then a pool made before listing has its keys given creation
 * sequences (see BACKFILL_LUA): the reply is "migrating" until neither is left (O(MIGRATE_CHUNK)).
 * Then the settings: a pool without settings gets the ones given; "replace" overwrites them;
 * "keep" leaves them, and only fills in a setting the pool lacks (one added since the pool was
 * made: maxLeaseMs, maxCooldownMs) with the one given, which no earlier server can disagree with;
 * "peek" is "keep" without making a pool: a pool without settings stays without.
 * Replies ok, whether the pool had settings (1/0), and the settings it had (0s when none); the
 * tail carries the settings now in force. O(1) after the migration.
 */
export const OPEN_LUA = `
local legacy = TAG_PREFIX .. '${LEGACY_FREE_NAME}'
if redis.call('TYPE', legacy).ok == 'set' then
  for _, key in ipairs(redis.call('SPOP', legacy, ${MIGRATE_CHUNK})) do
    if redis.call('ZSCORE', LIVES, key) and not redis.call('HGET', FREE_POS, key) then free_add(key) end
  end
  if redis.call('EXISTS', legacy) == 1 then return {'migrating'} end
end
${BACKFILL_LUA}
local fields = { ${SETTING_FIELDS.map((f) => `'${f}'`).join(", ")} }
local before = redis.call('HMGET', SETTINGS, unpack(fields))
local had = tonumber(before[1]) ~= nil
for i, field in ipairs(fields) do
  before[i] = tonumber(before[i]) or 0
  local missing = before[i] < 1 and (had or ARGV[3] == 'keep')
  if ARGV[3] == 'replace' or missing then redis.call('HSET', SETTINGS, field, ARGV[3 + i]) end
end
load_settings()
local reply = {'ok', had and 1 or 0}
for i = 1, #fields do reply[#reply + 1] = before[i] end
return reply
`;
