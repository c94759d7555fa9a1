-- Heartbeat: ARGV 4 id, 5 the new expiry in ms. An instance that expired
-- is gone (swept first): it must Register again.
sweep()
local id, exp = ARGV[4], ARGV[5] -- exp stays a string: exact in ZADD
if redis.call('HEXISTS', instances, id) == 0 then
  return {'notfound', rev()}
end
local old = redis.call('ZSCORE', expiry, id)
if old and tonumber(old) == tonumber(exp) then
  return {'ok', rev()}
end
redis.call('ZADD', expiry, exp, id)
return {'ok', changed()}
