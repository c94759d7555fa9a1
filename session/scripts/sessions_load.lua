-- Loads session hash KEYS[1] (<prefix>{<shard>}:s:<hash>) at time ARGV[1]
-- (ms, the caller's clock) in one step: checks its absolute (@a) and idle
-- (@d) deadlines, slides @d to min(now + idle, absolute) and moves the
-- PEXPIRE backstop (ARGV[2] ms of grace), and returns every field.
-- The slide is written only when it moves @d forward by a step (1% of the
-- idle timeout) or more, or onto the absolute deadline: a busy session is
-- written once a step, not on every request, at the price of ending up to
-- one step before its full idle timeout. @d never moves back (a Manager
-- whose clock runs behind another's does not shorten the session).
-- An expired session is deleted, and its hash (the last 64 characters of
-- KEYS[1]) dropped from its user's index <prefix>{<shard>}:u:<user> (same
-- slot, named from KEYS[1] too); the answer is then nil.
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
    local key = KEYS[1]
    redis.call('SREM', string.sub(key, 1, #key - 66) .. 'u:' .. f[m['@u'] + 1], string.sub(key, -64))
  end
  return false
end
local nd = math.min(now + idle, a)
if nd > d and (nd - d >= math.floor(idle / 100) or nd == a) then
  local s = string.format('%d', nd)
  redis.call('HSET', KEYS[1], '@d', s)
  redis.call('PEXPIRE', KEYS[1], nd - now + tonumber(ARGV[2]))
  f[m['@d'] + 1] = s
end
return f
