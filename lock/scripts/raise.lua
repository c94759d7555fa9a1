-- Raises fencing counter KEYS[1] to at least ARGV[1]; returns its value.
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
local m = tonumber(ARGV[1])
if c < m then
  redis.call('SET', KEYS[1], m)
  return m
end
return c
