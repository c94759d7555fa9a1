-- Returns hash, fields, hash, fields... for every session in user index
-- KEYS[1] (session keys ARGV[1]..hash, same slot) live at ARGV[2] (ms),
-- and drops the others from the index.
local now = tonumber(ARGV[2])
local out = {}
for _, h in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = ARGV[1] .. h
  local m = redis.call('HMGET', k, '@a', '@d')
  local a, d = tonumber(m[1]), tonumber(m[2])
  if a and d and now < a and now < d then
    out[#out + 1] = h
    out[#out + 1] = redis.call('HGETALL', k)
  else
    redis.call('SREM', KEYS[1], h)
  end
end
return out
