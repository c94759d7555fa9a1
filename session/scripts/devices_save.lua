-- Store a new remember-me device and add it to its user's index.
-- KEYS[1] the device hash, KEYS[2] the user's device index (same slot).
-- ARGV: selector, user, hash, label, created ms, last used ms, expires ms, ttl ms.
-- Returns 0 when the selector is taken, else 1.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'u', ARGV[2], 'h', ARGV[3], 'p', '', 'pu', '0', 'l', ARGV[4],
  'c', ARGV[5], 'lu', ARGV[6], 'e', ARGV[7])
local ttl = tonumber(ARGV[8])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('SADD', KEYS[2], ARGV[1])
-- The index lives as long as its longest-lived device.
local cur = redis.call('PTTL', KEYS[2])
if cur >= 0 and cur < ttl or cur == -1 then
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return 1
