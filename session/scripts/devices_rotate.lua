-- Compare-and-set a remember-me device's validator hash.
-- KEYS[1] the device hash, KEYS[2] the user's device index (same slot).
-- ARGV: user, old hash, new hash, now ms, previous-hash-valid-until ms,
-- new expires ms.
-- Returns -1 when the device is gone, expired or not the user's, 0 when
-- its hash is not the old one, 1 when rotated.
local f = redis.call('HMGET', KEYS[1], 'u', 'h', 'e')
if f[1] ~= ARGV[1] or tonumber(f[3]) <= tonumber(ARGV[4]) then
  return -1
end
-- The new hash already current is this very rotation, retried by the
-- client after its reply was lost: only its caller knows that validator.
if f[2] == ARGV[3] then
  return 1
end
if f[2] ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], 'p', ARGV[2], 'pu', ARGV[5], 'h', ARGV[3], 'lu', ARGV[4], 'e', ARGV[6])
local ttl = tonumber(ARGV[6]) - tonumber(ARGV[4])
redis.call('PEXPIRE', KEYS[1], ttl)
local cur = redis.call('PTTL', KEYS[2])
if cur >= 0 and cur < ttl or cur == -1 then
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return 1
