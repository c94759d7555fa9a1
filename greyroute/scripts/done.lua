-- Done in Atomic mode (router_atomic.go): gives back connections one
-- Router counted, and renews its lease. Locals only; KEYS only.
--
-- KEYS: 1 conns, 2 routers (as in scripts/pick.lua).
-- ARGV: 1 the Router's ID, 2 its lease expiry ms, 3.. pairs of instance
--       ID and count.
-- A count is taken back only up to the Router's own share, so a retried
-- flush, or one after the lease lapsed and the share was reaped, cannot
-- push a total below what the other Routers hold.
local conns, routers = KEYS[1], KEYS[2]
local router, lease = ARGV[1], ARGV[2]
for i = 3, #ARGV - 1, 2 do
  local id, n = ARGV[i], tonumber(ARGV[i + 1])
  local mine = router .. '\n' .. id
  local have = tonumber(redis.call('HGET', conns, mine) or '0') or 0
  local d = math.min(n, have)
  if d > 0 then
    if redis.call('HINCRBY', conns, mine, -d) <= 0 then
      redis.call('HDEL', conns, mine)
    end
    if redis.call('HINCRBY', conns, id, -d) <= 0 then
      redis.call('HDEL', conns, id)
    end
  end
end
redis.call('ZADD', routers, lease, router)
return 0
