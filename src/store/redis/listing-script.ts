/**
 * ListKeys on Redis (body; the prelude is prepended by commands.ts). Every key has a creation
 * sequence in the shard's `order` ZSET (set once, by generate or import, removed when the key is
 * purged), so a listing is a walk up the sequence from a cursor: a key present for a whole scan
 * keeps its sequence and is returned exactly once; keys made during the scan may or may not be.
 *
 * ARGV: now, budget, state ('' for any, or 'free', 'blocked', 'cooling'), pageSize, after (the
 * cursor: the last sequence a previous page examined, 0 to start), limit (the most entries to
 * examine: LIST_SCAN_FACTOR · pageSize for a page, less for the rest of one). Examines at most
 * limit entries after the cursor (ZRANGEBYSCORE ... LIMIT) and returns at most pageSize live keys
 * in that state, judged at now without changing them (dead keys are skipped). Replies ok, the new
 * cursor, 1 when more may follow (0: the shard is done), the entries examined, then per key the
 * 8 fields of describe. O(limit · log n).
 */
export const LIST_LUA = `
local now = tick(ARGV[1])
catch_up(now, BUDGET)
local want, size, after, limit = ARGV[3], tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local rows = redis.call('ZRANGEBYSCORE', ORDER, '(' .. after, '+inf', 'WITHSCORES', 'LIMIT', 0, limit)
local out, found, cursor, examined = {'ok', after, 0, 0}, 0, after, 0
local more = #rows == 2 * limit
for i = 1, #rows, 2 do
  local key = rows[i]
  cursor = rows[i + 1]
  examined = examined + 1
  local e = tonumber(redis.call('ZSCORE', LIVES, key) or 0)
  if e > now then
    local d = describe(key, now, e)
    local state = (d[3] > 0 and 'blocked') or (d[9] > 0 and 'cooling') or 'free'
    if want == '' or want == state then
      for f = 2, 9 do out[#out + 1] = d[f] end
      found = found + 1
      if found == size then
        more = more or i + 1 < #rows
        break
      end
    end
  end
end
out[2] = cursor
out[3] = more and 1 or 0
out[4] = examined
return out
`;

/** Most keys of a pool made before listing that one open step gives a sequence (see BACKFILL_LUA). */
export const BACKFILL_CHUNK = 1_000;

/**
 * Lua for the open script: a pool made before listing existed has keys without a creation
 * sequence. While `seq` is missing and `lives` is not empty (or a backfill is under way: its
 * ZSCAN cursor in `order-scan`), each run gives up to about BACKFILL_CHUNK keys of `lives` a
 * sequence and returns 'migrating' until the scan is done; ZSCAN returns every key present for
 * the whole scan, and keys made meanwhile already have one. O(BACKFILL_CHUNK · log n) per run.
 */
export const BACKFILL_LUA = `
local scan = TAG_PREFIX .. 'order-scan'
local cursor = redis.call('GET', scan)
if not cursor and redis.call('EXISTS', SEQ) == 0 and redis.call('EXISTS', LIVES) == 1 then cursor = '0' end
if cursor then
  local r = redis.call('ZSCAN', LIVES, cursor, 'COUNT', ${BACKFILL_CHUNK})
  for i = 1, #r[2], 2 do
    local key = r[2][i]
    if not redis.call('ZSCORE', ORDER, key) then redis.call('ZADD', ORDER, redis.call('INCR', SEQ), key) end
  end
  if r[1] ~= '0' then
    redis.call('SET', scan, r[1])
    return {'migrating'}
  end
  redis.call('DEL', scan)
  if redis.call('EXISTS', SEQ) == 0 then redis.call('SET', SEQ, '0') end
end
`;
