-- Ends session hash KEYS[1] and drops its hash ARGV[2] from its user's
-- index ARGV[1]..user (same slot).
local u = redis.call('HGET', KEYS[1], '@u')
redis.call('DEL', KEYS[1])
if u then
  redis.call('SREM', ARGV[1] .. u, ARGV[2])
end
return 1
