/**
 * The per-key scripts (bodies; the prelude is prepended by `commands.ts`). Each is one atomic
 * step: O(log n) for the key it names plus one bounded catch-up (O(BUDGET · log n)); the batch
 * keepalive is O(k log n) for k keys. ARGV[1] is always now in ms ('' for Redis TIME), ARGV[2]
 * the catch-up budget; each script's own arguments follow. TTLs come from the pool's settings.
 */

/**
 * ARGV: now, budget, key, leaseId ('' for none), cooldown (ms, 0 for none). A blocked key under
 * that lease (or any, without one) is freed, or COOLING until now + cooldown; a free key with a
 * cooldown cools; a cooling key keeps the later of its two deadlines, and with a lease id is
 * failed-precondition (its lease ended when it was released). Replies a KeyInfo; not-found;
 * failed-precondition; or invalid-argument, 'max-cooldown', the pool's max cooldown.
 */
export const RELEASE_LUA = `
local now = tick(ARGV[1])
local key, lease, cooldown = ARGV[3], ARGV[4], tonumber(ARGV[5])
if cooldown > MAX_COOLDOWN then return {'invalid-argument', 'max-cooldown', MAX_COOLDOWN} end
catch_up(now, BUDGET)
local e, why = find(key, now)
if not e then return {'not-found', why} end
local till = now + cooldown
local cooling = redis.call('ZSCORE', COOLING, key)
if redis.call('ZSCORE', BLOCKS, key) then
  if lease ~= '' and lease ~= redis.call('HGET', LEASES, key) then return {'failed-precondition'} end
  block_end(key)
  if cooldown > 0 then redis.call('ZADD', COOLING, str(till), key) else free_add(key) end
  DID.released = 1
elseif cooling then
  if lease ~= '' then return {'failed-precondition', 'cooling'} end
  if till > tonumber(cooling) then redis.call('ZADD', COOLING, str(till), key) end
elseif cooldown > 0 then
  free_remove(key)
  redis.call('ZADD', COOLING, str(till), key)
end
return describe(key, now, e)
`;

/** ARGV: now, budget, key. Replies ok or not-found. */
export const DELETE_LUA = `
local now = tick(ARGV[1])
local key = ARGV[3]
catch_up(now, BUDGET)
local e, why = find(key, now)
if not e then return {'not-found', why} end
purge(key)
DID.deleted = 1
return {'ok'}
`;

/** ARGV: now, budget, key. Sets its life to now + the keepalive TTL; replies the KeyInfo, or not-found. */
export const KEEPALIVE_LUA = `
local now = tick(ARGV[1])
local key = ARGV[3]
catch_up(now, BUDGET)
local e, why = find(key, now)
if not e then return {'not-found', why} end
e = now + KEEPALIVE_TTL
redis.call('ZADD', LIVES, 'XX', str(e), key)
return describe(key, now, e)
`;

/** ARGV: now, budget, key... Replies ok and, per key in order, its new life or 0. */
export const KEEPALIVE_MANY_LUA = `
local now = tick(ARGV[1])
local life = now + KEEPALIVE_TTL
catch_up(now, BUDGET)
local out = {'ok'}
for i = 3, #ARGV do
  local key = ARGV[i]
  if find(key, now) then
    redis.call('ZADD', LIVES, 'XX', str(life), key)
    out[#out + 1] = life
  else
    out[#out + 1] = 0
  end
end
return out
`;

/** ARGV: now, budget, key. Replies the KeyInfo or not-found; changes nothing a caller can see. */
export const GET_LUA = `
local now = tick(ARGV[1])
local key = ARGV[3]
catch_up(now, BUDGET)
local e, why = find(key, now)
if not e then return {'not-found', why} end
return describe(key, now, e)
`;

/**
 * Lua for both renewal scripts: renews `key`'s current lease or says why not ('unknown' and
 * 'expired': not held; 'ended': free; 'cooling': released with a cooldown; 'taken': blocked under another lease; 'max-lease').
 * Both deadlines move to now + the pool's TTL, the latest score in each ZSET: O(log n).
 */
const RENEW_ONE = `
local function renew(key, lease, now, max_lease)
  local e, why = find(key, now)
  if not e then return why end
  local b = redis.call('ZSCORE', BLOCKS, key)
  if not b then return redis.call('ZSCORE', COOLING, key) and 'cooling' or 'ended' end
  if redis.call('HGET', LEASES, key) ~= lease then return 'taken' end
  local till = now + BLOCK_TTL
  -- A lease blocked before keys had an acquiredAt began one block TTL before its deadline.
  local since = tonumber(redis.call('HGET', ACQUIRED, key) or (tonumber(b) - BLOCK_TTL))
  if till > since + max_lease then return 'max-lease' end
  local life = now + KEEPALIVE_TTL
  redis.call('ZADD', BLOCKS, 'XX', str(till), key)
  redis.call('ZADD', LIVES, 'XX', str(life), key)
  return 'ok', till, life
end
`;

/** ARGV: now, budget, key, leaseId (the max lease from the pool's settings). Replies a KeyInfo, or not-found / failed-precondition and why. */
export const RENEW_LUA = `${RENEW_ONE}
local now = tick(ARGV[1])
catch_up(now, BUDGET)
local key = ARGV[3]
local outcome, _, life = renew(key, ARGV[4], now, MAX_LEASE)
if outcome == 'unknown' or outcome == 'expired' then return {'not-found', outcome} end
if outcome ~= 'ok' then return {'failed-precondition', outcome} end
return describe(key, now, life)
`;

/**
 * ARGV: now, budget, then key, leaseId pairs (the max lease from the pool's settings). Replies ok and, per lease in order, its
 * outcome ('ok' or why not), blockedUntil and expiresAt (0 when not renewed). O(k log n).
 */
export const RENEW_MANY_LUA = `${RENEW_ONE}
local now = tick(ARGV[1])
local max_lease = MAX_LEASE
catch_up(now, BUDGET)
local out = {'ok'}
for i = 3, #ARGV, 2 do
  local outcome, till, life = renew(ARGV[i], ARGV[i + 1], now, max_lease)
  out[#out + 1] = outcome
  out[#out + 1] = till or 0
  out[#out + 1] = life or 0
end
return out
`;
