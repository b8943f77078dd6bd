import { LEGACY_FREE_NAME, SETTING_FIELDS } from "./pool-keys.js";

/** Free keys one open step moves from a keypool 0.1 SET into the free array. */
export const MIGRATE_CHUNK = 1_000;

/**
 * The script a store runs when it opens a pool (body; the prelude is prepended by commands.ts).
 * ARGV: now, budget, mode ("keep" or "replace"), then the settings in SETTING_FIELDS order.
 *
 * First, a pool made by keypool 0.1 (free keys in a SET) has up to MIGRATE_CHUNK of them moved
 * into the free array per run: the reply is "migrating" until none is left (O(MIGRATE_CHUNK)).
 * Then the settings: a pool without settings gets the ones given; "replace" overwrites them;
 * "keep" leaves them. Replies ok, whether the pool had settings (1/0), and the settings it had
 * (0s when none); the tail carries the settings now in force. O(1) after the migration.
 */
export const OPEN_LUA = `
local legacy = TAG_PREFIX .. '${LEGACY_FREE_NAME}'
if redis.call('TYPE', legacy).ok == 'set' then
  for _, key in ipairs(redis.call('SPOP', legacy, ${MIGRATE_CHUNK})) do
    if redis.call('ZSCORE', LIVES, key) and not redis.call('HGET', FREE_POS, key) then free_add(key) end
  end
  if redis.call('EXISTS', legacy) == 1 then return {'migrating'} end
end
local had = load_settings()
local before = { BLOCK_TTL or 0, KEEPALIVE_TTL or 0, MAX_KEYS or 0, MAX_LEASE or 0 }
if not had or ARGV[3] == 'replace' then
  redis.call('HSET', SETTINGS, ${SETTING_FIELDS.map((f, i) => `'${f}', ARGV[${4 + i}]`).join(", ")})
  load_settings()
end
return {'ok', had and 1 or 0, before[1], before[2], before[3], before[4]}
`;
