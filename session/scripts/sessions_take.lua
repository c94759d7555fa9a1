-- Ends session hash KEYS[1] if it is live at ARGV[1] (ms), dropping its
-- hash ARGV[3] from its user's index ARGV[2]..user. Returns 1, or 0 when
-- it was not live (an expired one is deleted all the same). The first half
-- of a renewal: the old ID dies before the new one exists.
local m = redis.call('HMGET', KEYS[1], '@a', '@d', '@u')
local a, d = tonumber(m[1]), tonumber(m[2])
local now = tonumber(ARGV[1])
if redis.call('DEL', KEYS[1]) == 0 then
  return 0
end
if m[3] then
  redis.call('SREM', ARGV[2] .. m[3], ARGV[3])
end
if not (a and d) or now >= a or now >= d then
  return 0
end
return 1
