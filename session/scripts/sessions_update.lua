-- Sets ARGV[2] field/value pairs (ARGV[3..]) and deletes the fields after
-- them in session hash KEYS[1], if the session is live at ARGV[1] (ms).
-- Each field is written on its own (HSET/HDEL), so concurrent updates of
-- different fields all survive. Returns 1, or 0 when the session is gone.
local m = redis.call('HMGET', KEYS[1], '@a', '@d')
local a, d = tonumber(m[1]), tonumber(m[2])
local now = tonumber(ARGV[1])
if not (a and d) or now >= a or now >= d then
  return 0
end
local n = tonumber(ARGV[2])
if n > 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 3, 2 + 2 * n))
end
if #ARGV > 2 + 2 * n then
  redis.call('HDEL', KEYS[1], unpack(ARGV, 3 + 2 * n))
end
return 1
