-- Heartbeat: ARGV 4 id, 5 the new expiry in ms. An instance that expired
-- is gone (swept first): it must Register again.
--
-- Moving a live instance's expiry later is not a change event: Routers
-- hold the expiries they loaded and reload the service when the earliest
-- passes, reading the later one then (router_expiry.go). So heartbeats
-- cost no rev and no PUBLISH. Moving it earlier (a shorter ttl) is
-- announced: a Router holding the later expiry would keep it too long.
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
if old and tonumber(exp) > tonumber(old) then
  return {'ok', rev()}
end
return {'ok', changed()}
