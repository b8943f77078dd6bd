import { CHANNEL_SUFFIX, POOL_KEY_NAMES, SETTING_FIELDS } from "./pool-keys.js";
import { EVENTS_LUA } from "./script-events.js";

/**
 * Lua shared by every script: the pool's keys, its clock, and the state changes every operation
 * is made of. Each helper is O(1) or O(log n) Redis commands; `catch_up` is O(budget · log n).
 *
 * State invariants (kept by every script, checked by the conformance suite):
 * - a key is in `lives` iff it is held (alive, or dead and not yet reclaimed), and then in `order`;
 * - a held key is in exactly one of the free array, `blocks` and `cooling`; `leases` and
 *   `acquired` have a field iff it is in `blocks`; `free-at` and `free-pos` are inverses over
 *   positions 0 .. n-1; `fencing` has a field iff the key was ever acquired;
 * - a deadline is inclusive: at `blockedUntil` and `cooldownUntil` a key is free, at `expiresAt`
 *   it is dead.
 *
 * Every script replies with a table whose first element is a status: "ok", or the
 * KeyPoolErrorCode to raise ("not-found", ...), then the status's fields, then (added by
 * `finish`) the counts of what it did (see script-events.ts).
 */
export const LUA_PRELUDE = `
local FREE_AT, FREE_POS, BLOCKS, LIVES, CREATED, LEASES, CLOCK, SETTINGS =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local FENCING, ACQUIRED, COOLING, ORDER, SEQ = KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13]
-- Expiry work one request may do before it answers (the store's catch-up budget).
local BUDGET = tonumber(ARGV[2])
-- The pool's channel (poolChannel in pool-keys.ts): KEYS[1] with its last name swapped.
local TAG_PREFIX = string.sub(FREE_AT, 1, #FREE_AT - ${POOL_KEY_NAMES[0].length})
local CHANNEL = TAG_PREFIX .. '${CHANNEL_SUFFIX}'

-- The pool's rules, from its settings hash (never from the caller): set by load_settings.
local BLOCK_TTL, KEEPALIVE_TTL, MAX_KEYS, MAX_LEASE, MAX_COOLDOWN = false, false, false, false, false

-- Reads the pool's settings; false when the pool has none (new, or its Redis lost its data).
local function load_settings()
  local v = redis.call('HMGET', SETTINGS, ${SETTING_FIELDS.map((f) => `'${f}'`).join(", ")})
  for i = 1, ${SETTING_FIELDS.length} do
    local n = tonumber(v[i])
    if not n or n < 1 or n ~= math.floor(n) then return false end
  end
  BLOCK_TTL, KEEPALIVE_TTL, MAX_KEYS = tonumber(v[1]), tonumber(v[2]), tonumber(v[3])
  MAX_LEASE, MAX_COOLDOWN = tonumber(v[4]), tonumber(v[5])
  return true
end

-- Integers as Redis arguments: never "1.7e+12", whatever the Lua number formatting.
local function str(n)
  return string.format('%.0f', n)
end

-- Now in ms: the caller's clock when it passes one (tests), else Redis TIME, so servers need not
-- agree on the time. Never earlier than the pool's latest instant (a clock step back, a failover),
-- which it becomes unless 'peek' (then the caller writes CLOCK itself if it decides anything at now).
local function tick(arg, peek)
  local now
  if arg == '' then
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  else
    now = tonumber(arg)
  end
  local last = tonumber(redis.call('GET', CLOCK) or 0)
  if now <= last then return last end
  if not peek then redis.call('SET', CLOCK, str(now)) end
  return now
end

-- The free keys as an array (FREE_AT position -> key, FREE_POS key -> position, positions
-- 0 .. n-1): add appends, remove swaps the last key into the hole. Each is O(1). The count is
-- read once per script and kept up to date here.
local free_n = false
-- Keys this script put into the free array: finish publishes when any were (a waiter may take one).
local FREED = 0
local function free_count()
  if not free_n then free_n = redis.call('HLEN', FREE_POS) end
  return free_n
end

local function free_add(key)
  local n = free_count()
  redis.call('HSET', FREE_AT, str(n), key)
  redis.call('HSET', FREE_POS, key, str(n))
  free_n = n + 1
  FREED = FREED + 1
end

-- Removes the free key 'key' at position 'at' (a string, as stored).
local function free_remove_at(key, at)
  local last = str(free_count() - 1)
  if at ~= last then
    local moved = redis.call('HGET', FREE_AT, last)
    redis.call('HSET', FREE_AT, at, moved)
    redis.call('HSET', FREE_POS, moved, at)
  end
  redis.call('HDEL', FREE_AT, last)
  redis.call('HDEL', FREE_POS, key)
  free_n = free_n - 1
end

local function free_remove(key)
  local at = redis.call('HGET', FREE_POS, key)
  if at then free_remove_at(key, at) end
end

-- The free key at a uniformly random position and that position, or false when none is free.
-- 'draw' is an integer in [0, 2^53) the store drew from its injected Random; the k-th pick of
-- one script (k > 1, after dead keys) uses 52 bits of SHA1(draw:k) instead, since Redis's
-- math.random repeats one sequence in every script. Bias of the modulo: below n / 2^52. O(1).
local function free_pick(draw, k)
  local n = free_count()
  if n == 0 then return false end
  local r = tonumber(draw)
  if k > 1 then r = tonumber(string.sub(redis.sha1hex(draw .. ':' .. k), 1, 13), 16) end
  local at = str(math.fmod(r, n))
  return redis.call('HGET', FREE_AT, at), at
end
${EVENTS_LUA}
-- Removes a key in any state.
local function purge(key)
  redis.call('ZREM', LIVES, key)
  redis.call('ZREM', BLOCKS, key)
  redis.call('ZREM', COOLING, key)
  redis.call('ZREM', ORDER, key)
  free_remove(key)
  redis.call('HDEL', CREATED, key)
  redis.call('HDEL', LEASES, key)
  redis.call('HDEL', FENCING, key)
  redis.call('HDEL', ACQUIRED, key)
end

-- Ends a key's block, leaving it in no state: the caller frees it or cools it.
local function block_end(key)
  redis.call('ZREM', BLOCKS, key)
  redis.call('HDEL', LEASES, key)
  redis.call('HDEL', ACQUIRED, key)
end

-- Frees a blocked key.
local function unblock(key)
  block_end(key)
  free_add(key)
end

-- Frees a cooling key whose cooldown ended.
local function cool_end(key)
  redis.call('ZREM', COOLING, key)
  free_add(key)
end

-- Reclaims a key found dead.
local function expire(key)
  purge(key)
  DID.expired = DID.expired + 1
end

-- Frees a key whose block ended.
local function auto_release(key)
  unblock(key)
  DID.autoReleased = DID.autoReleased + 1
end

-- Reclaims dead keys, then ends due blocks, then due cooldowns, oldest first: at most budget in all.
local function catch_up(now, budget)
  local dead = redis.call('ZRANGEBYSCORE', LIVES, '-inf', str(now), 'LIMIT', 0, budget)
  for _, key in ipairs(dead) do expire(key) end
  local work = #dead
  if work < budget then
    local ended = redis.call('ZRANGEBYSCORE', BLOCKS, '-inf', str(now), 'LIMIT', 0, budget - work)
    for _, key in ipairs(ended) do auto_release(key) end
    work = work + #ended
  end
  if work < budget then
    local cooled = redis.call('ZRANGEBYSCORE', COOLING, '-inf', str(now), 'LIMIT', 0, budget - work)
    for _, key in ipairs(cooled) do cool_end(key) end
    work = work + #cooled
  end
  return work
end

-- Live keys at now: dead ones are not counted, reclaimed or not.
local function live_count(now)
  return redis.call('ZCOUNT', LIVES, '(' .. str(now), '+inf')
end

-- The expiresAt of a live key, its block or cooldown settled for now; or false and why it is not held.
local function find(key, now)
  local e = redis.call('ZSCORE', LIVES, key)
  if not e then return false, 'unknown' end
  e = tonumber(e)
  if e <= now then
    expire(key)
    return false, 'expired'
  end
  local b = redis.call('ZSCORE', BLOCKS, key)
  if b and tonumber(b) <= now then auto_release(key) end
  local c = redis.call('ZSCORE', COOLING, key)
  if c and tonumber(c) <= now then cool_end(key) end
  return e
end

-- The reply describing a live key: ok, key, blockedUntil (0 when not blocked), lease id ('' when
-- not blocked), expiresAt, createdAt, fencing token (0 if never acquired), acquiredAt (0 when not
-- blocked), cooldownUntil (0 when not cooling). Judged at now without changing anything: a block
-- or cooldown that ended counts as ended even before a script settles it.
local function describe(key, now, e)
  local till, lease, acquired, cooled = 0, '', 0, 0
  local b = redis.call('ZSCORE', BLOCKS, key)
  if b and tonumber(b) > now then
    till = tonumber(b)
    lease = redis.call('HGET', LEASES, key) or ''
    acquired = tonumber(redis.call('HGET', ACQUIRED, key) or 0)
  end
  local c = redis.call('ZSCORE', COOLING, key)
  if c and tonumber(c) > now then cooled = tonumber(c) end
  local created = tonumber(redis.call('HGET', CREATED, key) or 0)
  return {'ok', key, till, lease, e, created, tonumber(redis.call('HGET', FENCING, key) or 0), acquired, cooled}
end

-- Puts held keys ARGV[first .. first + n - 1] (checked new) into the free array, alive until
-- now + KEEPALIVE_TTL, each with the next creation sequence in ORDER (the listing's order).
-- O(n log n).
local function add_keys(first, n, now)
  local at, pos, lives, created, order = {}, {}, {}, {}, {}
  local e, c = str(now + KEEPALIVE_TTL), str(now)
  local base = free_count()
  local seq = redis.call('INCRBY', SEQ, n) - n
  for i = 0, n - 1 do
    local key, p, j = ARGV[first + i], str(base + i), 2 * i
    at[j + 1] = p
    at[j + 2] = key
    pos[j + 1] = key
    pos[j + 2] = p
    lives[j + 1] = e
    lives[j + 2] = key
    created[j + 1] = key
    created[j + 2] = c
    order[j + 1] = str(seq + i + 1)
    order[j + 2] = key
  end
  redis.call('ZADD', LIVES, unpack(lives))
  redis.call('HSET', FREE_AT, unpack(at))
  redis.call('HSET', FREE_POS, unpack(pos))
  redis.call('HSET', CREATED, unpack(created))
  redis.call('ZADD', ORDER, unpack(order))
  free_n = base + n
  FREED = FREED + n
end
`;
