-- Delete one remember-me device if it belongs to the user.
-- KEYS[1] the device hash, KEYS[2] the user's device index (same slot).
-- ARGV: user, selector. Returns 1 when deleted.
if redis.call('HGET', KEYS[1], 'u') ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
return 1
