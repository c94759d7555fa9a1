-- Ends every session in user index KEYS[1] (session keys are ARGV[1]..hash,
-- in the same slot) and the index itself, in one step. Returns how many
-- were live at ARGV[2] (ms).
local now = tonumber(ARGV[2])
local n = 0
for _, h in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = ARGV[1] .. h
  local m = redis.call('HMGET', k, '@a', '@d')
  local a, d = tonumber(m[1]), tonumber(m[2])
  if a and d and now < a and now < d then
    n = n + 1
  end
  redis.call('DEL', k)
end
redis.call('DEL', KEYS[1])
return n
