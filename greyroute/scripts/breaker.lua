-- A Router's breaker report (router_report.go); not a table write: no rev,
-- no event, Routers never read it.
-- KEYS: 1 breakers (hash: instance id -> JSON {router: {state, at}}).
-- ARGV: 1 id, 2 router, 3 state ('closed', 'half-open', 'open'),
--       4 at (ms, the Router's clock), 5 the oldest at kept (ms).
-- A closed breaker is the default, so it removes the router's entry; an
-- entry older than ARGV[5] (a router that died with a breaker open) goes
-- too. The field goes when no entry is left.
local key, id, router, state = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local at, oldest = tonumber(ARGV[4]), tonumber(ARGV[5])
local raw = redis.call('HGET', key, id)
local m = {}
if raw then
  local ok, v = pcall(cjson.decode, raw)
  if ok and type(v) == 'table' then m = v end
end
if state == 'closed' then
  m[router] = nil
else
  m[router] = {state = state, at = at}
end
local left = 0
for r, e in pairs(m) do
  if type(e) ~= 'table' or type(e.at) ~= 'number' or e.at < oldest then
    m[r] = nil
  else
    left = left + 1
  end
end
if left == 0 then
  redis.call('HDEL', key, id)
else
  redis.call('HSET', key, id, cjson.encode(m))
end
return left
