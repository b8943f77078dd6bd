/**
 * The pool-wide scripts (bodies; the prelude is prepended by `commands.ts`). ARGV[1] is always
 * now in ms ('' for Redis TIME), ARGV[2] the catch-up budget; each script's own arguments
 * follow. TTLs and the capacity come from the pool's settings (BLOCK_TTL, KEEPALIVE_TTL, MAX_KEYS).
 */

/**
 * ARGV: now, budget, count, elsewhere, key... (count distinct new keys; elsewhere: live keys of
 * the pool's other shards, 0 unsharded). Reclaims up to max(BUDGET, count) dead keys, checks the
 * pool's capacity against live keys, then adds all or none. Replies ok, createdAt, expiresAt;
 * resource-exhausted, live (this shard), maxKeys; or retry when a key is taken (2^-144 odds:
 * never, but never wrong). O(count · log n).
 */
export const GENERATE_LUA = `
local now = tick(ARGV[1])
local n, elsewhere = tonumber(ARGV[3]), tonumber(ARGV[4])
catch_up(now, math.max(BUDGET, n))
local live = live_count(now)
if live + elsewhere + n > MAX_KEYS then return {'resource-exhausted', live, MAX_KEYS} end
for i = 5, 4 + n do
  if redis.call('ZSCORE', LIVES, ARGV[i]) then return {'retry'} end
end
add_keys(5, n, now)
DID.generated = n
return {'ok', now, now + KEEPALIVE_TTL}
`;

/**
 * ARGV: now, budget, elsewhere, mode ("check" or "add"), key... (distinct, well-formed; elsewhere
 * as for generate). Adds existing secrets as free keys, all or none: reclaims up to
 * max(BUDGET, count) dead keys, refuses a key this shard holds alive (already-exists and its index
 * among the keys), then checks the capacity as GenerateKeys does (resource-exhausted, live,
 * maxKeys). "check" stops there and changes nothing a caller can see (a sharded pool checks every
 * shard before adding to any). Replies ok, createdAt, expiresAt. O(count · log n).
 */
export const IMPORT_LUA = `
local now = tick(ARGV[1])
local elsewhere, mode, n = tonumber(ARGV[3]), ARGV[4], #ARGV - 4
catch_up(now, math.max(BUDGET, n))
for i = 5, 4 + n do
  local e = redis.call('ZSCORE', LIVES, ARGV[i])
  if e and tonumber(e) <= now then expire(ARGV[i]) elseif e then return {'already-exists', i - 5} end
end
local live = live_count(now)
if live + elsewhere + n > MAX_KEYS then return {'resource-exhausted', live, MAX_KEYS} end
if mode == 'add' then
  add_keys(5, n, now)
  DID.generated = n
end
return {'ok', now, now + KEEPALIVE_TTL}
`;

/**
 * ARGV: now, budget, leaseId, draw (an integer in [0, 2^53) from the store's Random). Blocks
 * a uniformly random free key (see free_pick) under the lease. Dead keys met on the way are
 * reclaimed and the pick drawn again; a block that ended but was not settled yet is settled
 * rather than missed (a due cooldown too). Replies a KeyInfo; not-found, live, cooling; or unavailable when a mass expiry
 * exceeds the bounded work. O(BUDGET · log n).
 */
export const ACQUIRE_LUA = `
local now = tick(ARGV[1])
local ttl, lease, draw = BLOCK_TTL, ARGV[3], ARGV[4]
catch_up(now, BUDGET)
local picks = 0
for _ = 1, BUDGET * 4 do
  local key, at = false, false
  if free_count() > 0 then
    picks = picks + 1
    key, at = free_pick(draw, picks)
  end
  if not key then
    local ended = redis.call('ZRANGEBYSCORE', BLOCKS, '-inf', str(now), 'LIMIT', 0, 1)
    local cooled = #ended == 0 and redis.call('ZRANGEBYSCORE', COOLING, '-inf', str(now), 'LIMIT', 0, 1) or {}
    if #ended == 0 and #cooled == 0 then
      DID.acquireMisses = 1
      return {'not-found', live_count(now), redis.call('ZCOUNT', COOLING, '(' .. str(now), '+inf')}
    end
    if #ended > 0 then auto_release(ended[1]) else cool_end(cooled[1]) end
  else
    local e = tonumber(redis.call('ZSCORE', LIVES, key) or 0)
    if e <= now then
      expire(key)
    else
      local till = now + ttl
      free_remove_at(key, at)
      redis.call('ZADD', BLOCKS, str(till), key)
      redis.call('HSET', LEASES, key, lease)
      redis.call('HSET', ACQUIRED, key, str(now))
      -- HINCRBY in the pool itself: no two servers can ever hand out one token of a key twice.
      local token = redis.call('HINCRBY', FENCING, key, 1)
      DID.acquired = 1
      return {'ok', key, till, lease, e, tonumber(redis.call('HGET', CREATED, key) or 0), token, now, 0}
    end
  end
end
return {'unavailable'}
`;

/**
 * ARGV: now, budget. Replies ok, live keys, blocked live keys, cooling live keys (the settings
 * follow in the reply's tail): exact unless more than BUDGET keys died unreclaimed (a mass expiry
 * the sweeper is still reclaiming). O(BUDGET · log n).
 */
export const STATS_LUA = `
local now = tick(ARGV[1])
catch_up(now, BUDGET)
local total = live_count(now)
local blocked = math.min(total, redis.call('ZCOUNT', BLOCKS, '(' .. str(now), '+inf'))
local cooling = math.min(total - blocked, redis.call('ZCOUNT', COOLING, '(' .. str(now), '+inf'))
return {'ok', total, blocked, cooling}
`;

/**
 * ARGV: now, budget, sweepBudget. One bounded step of the background sweeper; safe to run from
 * many servers at once, and needs no settings. Replies ok, units of work done, now, and the
 * earliest pending deadline (-1 for none). A step with nothing due writes nothing (not even the
 * pool's clock: nothing was decided at that instant), so idle sweeps add no AOF or replication
 * traffic. O(sweepBudget · log n).
 */
export const SWEEP_LUA = `
-- A pool Redis does not hold (a named pool asked about, never made) stays without a single key.
if not BLOCK_TTL and redis.call('EXISTS', LIVES) == 0 then return {'ok', 0, 0, -1} end
local now = tick(ARGV[1], true)
local work = catch_up(now, tonumber(ARGV[3]))
if work > 0 then redis.call('SET', CLOCK, str(now)) end
local soonest = -1
for _, set in ipairs({BLOCKS, LIVES, COOLING}) do
  local head = redis.call('ZRANGE', set, 0, 0, 'WITHSCORES')
  if head[2] and (soonest < 0 or tonumber(head[2]) < soonest) then soonest = tonumber(head[2]) end
end
return {'ok', work, now, soonest}
`;
