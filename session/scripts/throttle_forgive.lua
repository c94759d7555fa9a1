-- Takes back one login attempt on a throttle key (a login that then
-- succeeded), mirroring throttleForgive in throttle_step.go.
-- KEYS[1] the key's hash (see throttle_attempt.lua).
-- ARGV: at (the attempt's time), lockedUntil (the lockout the attempt
--       set, 0 if none), limit, window, max (ms).
-- An attempt that went ahead comes off the count, if the key's window
-- began at or before it and holds one. An attempt that locked the key
-- takes that lockout back, if it is still the key's and nothing has been
-- counted since: Limit-1 attempts in a window starting at the attempt.
-- No other lockout is touched; an absent key stays absent. Returns 1 if
-- something was taken back, else 0.
local at = tonumber(ARGV[1])
local locked = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local max = tonumber(ARGV[5])

local v = redis.call("HMGET", KEYS[1], "n", "ws", "l", "lu")
local n = tonumber(v[1]) or 0
local ws = tonumber(v[2]) or 0
local l = tonumber(v[3]) or 0
local lu = tonumber(v[4]) or 0

if locked == 0 then
  if n <= 0 or ws == 0 or ws > at then
    return 0
  end
  redis.call("HSET", KEYS[1], "n", n - 1)
  return 1
end

if lu ~= locked or n ~= 0 or ws ~= 0 or l <= 0 then
  return 0
end
l = l - 1
lu = 0
if l > 0 then lu = at end
redis.call("HSET", KEYS[1], "n", limit - 1, "ws", at, "l", l, "lu", lu)
local exp = at + window
if lu > 0 and lu + max > exp then exp = lu + max end
redis.call("PEXPIRE", KEYS[1], math.max(exp - at, 1))
return 1
