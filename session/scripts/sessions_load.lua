-- Loads session hash KEYS[1] at time ARGV[1] (ms, the caller's clock) in
-- one step: checks its absolute (@a) and idle (@d) deadlines, slides @d
-- to min(now + idle, absolute), moves the PEXPIRE backstop (ARGV[2] ms of
-- grace) and returns every field. An expired session is deleted, and
-- dropped from its user's index ARGV[3]..user (same slot), under its hash
-- ARGV[4]; the answer is then nil.
local f = redis.call('HGETALL', KEYS[1])
if #f == 0 then
  return false
end
local m = {}
for i = 1, #f, 2 do
  m[f[i]] = i
end
local now = tonumber(ARGV[1])
local a = m['@a'] and tonumber(f[m['@a'] + 1])
local d = m['@d'] and tonumber(f[m['@d'] + 1])
local idle = m['@i'] and tonumber(f[m['@i'] + 1])
if not (a and d and idle) then
  return redis.error_reply('session: damaged session hash')
end
if now >= a or now >= d then
  redis.call('DEL', KEYS[1])
  if m['@u'] then
    redis.call('SREM', ARGV[3] .. f[m['@u'] + 1], ARGV[4])
  end
  return false
end
local nd = string.format('%d', math.min(now + idle, a))
redis.call('HSET', KEYS[1], '@d', nd)
redis.call('PEXPIRE', KEYS[1], tonumber(nd) - now + tonumber(ARGV[2]))
f[m['@d'] + 1] = nd
return f
