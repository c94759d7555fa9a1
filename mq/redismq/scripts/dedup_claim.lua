-- Claims dedup key KEYS[1] for owner ARGV[1] for ARGV[2] ms. Returns 0 when
-- the caller holds the claim now, 1 when the ID is done, 2 when another
-- owner's claim is live. A claim is "c:<owner>", a done ID "d".
local v = redis.call('GET', KEYS[1])
if v == 'd' then
  return 1
end
if v and v ~= 'c:' .. ARGV[1] then
  return 2
end
redis.call('SET', KEYS[1], 'c:' .. ARGV[1], 'PX', ARGV[2])
return 0
