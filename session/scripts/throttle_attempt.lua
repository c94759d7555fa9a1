-- One login attempt against a throttle key, in one step so that
-- concurrent attempts on several instances cannot slip past the limit.
-- KEYS[1] the key's hash: n (attempts in the window), ws (window start),
--         l (lockouts so far), lu (locked until); times in ms.
-- ARGV: now, limit, challengeAfter (0: no challenge step), challenged
--       (1: the request passed its challenge), window, base, max (ms),
--       the attempt's random ID. The hash remembers the ID and status of
--       the last counted attempt (a, as): the same attempt sent again (a
--       client retrying after a lost reply) is answered, not counted again.
-- Returns {status, n, l, lu}; status 0 allowed, 1 allowed but the key is
-- now locked (this was the last attempt), 2 locked, 3 challenge required.
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local challengeAfter = tonumber(ARGV[3])
local challenged = ARGV[4] == "1"
local window = tonumber(ARGV[5])
local base = tonumber(ARGV[6])
local max = tonumber(ARGV[7])

local id = ARGV[8]

local v = redis.call("HMGET", KEYS[1], "n", "ws", "l", "lu", "a", "as")
local n = tonumber(v[1]) or 0
local ws = tonumber(v[2]) or 0
local l = tonumber(v[3]) or 0
local lu = tonumber(v[4]) or 0
if v[5] == id then
  return {tonumber(v[6]), n, l, lu}
end
local n0, l0, lu0 = n, l, lu -- what a refused attempt reports

-- Lockouts are forgotten once the key has been quiet for max after its
-- last lockout ended.
if lu > 0 and now >= lu + max then
  l = 0
  lu = 0
end
if now < lu then
  return {2, n, l, lu}
end
if ws == 0 or now >= ws + window then
  n = 0
  ws = now
end
if challengeAfter > 0 and (n >= challengeAfter or l > 0) and not challenged then
  return {3, n0, l0, lu0}
end

local status = 0
n = n + 1
if n >= limit then
  local d = base
  for _ = 1, l do
    d = d * 2
    if d >= max then break end
  end
  if d > max then d = max end
  lu = now + d
  l = l + 1
  n = 0
  ws = 0
  status = 1
end
redis.call("HSET", KEYS[1], "n", n, "ws", ws, "l", l, "lu", lu, "a", id, "as", status)
local exp = ws + window
if lu > 0 and lu + max > exp then exp = lu + max end
redis.call("PEXPIRE", KEYS[1], math.max(exp - now, 1))
return {status, n, l, lu}
