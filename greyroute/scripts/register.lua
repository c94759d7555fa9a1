-- Register: ARGV 4 id, 5 the instance's JSON, 6 its expiry in ms.
sweep()
local id, entry, exp = ARGV[4], ARGV[5], ARGV[6] -- exp stays a string: exact in ZADD
local old = redis.call('HGET', instances, id)
local oldexp = redis.call('ZSCORE', expiry, id)
if old == entry and oldexp and tonumber(oldexp) == tonumber(exp) then
  return {'ok', rev()}
end
ixPut(id, old, entry)
redis.call('HSET', instances, id, entry)
redis.call('ZADD', expiry, exp, id)
-- Registering a live instance again unchanged but for a later expiry is a
-- heartbeat (heartbeat.lua): not announced. A new instance, one that had
-- expired (swept above), a changed entry or an earlier expiry is.
if old == entry and oldexp and tonumber(exp) > tonumber(oldexp) then
  return {'ok', rev()}
end
return {'ok', changed()}
