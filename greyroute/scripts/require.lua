-- RequireSchema: ARGV 4 version, 5 minimum tenant schema (0 removes the
-- requirement). Pins made before stay: Pin checks at pin time.
local version, min = ARGV[4], tonumber(ARGV[5])
local old = tonumber(redis.call('HGET', schemareq, version) or '0')
if old == min then
  return {'ok', rev()}
end
if min == 0 then
  redis.call('HDEL', schemareq, version)
else
  redis.call('HSET', schemareq, version, ARGV[5]) -- the string: a Lua number may be written as 1e+17
end
return {'ok', changed()}
