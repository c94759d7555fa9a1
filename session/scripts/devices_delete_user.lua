-- Delete every remember-me device of a user, and the index.
-- KEYS[1] the user's device index. ARGV: device key prefix (same hash tag).
-- Returns how many devices there were.
local n = 0
for _, sel in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  n = n + redis.call('DEL', ARGV[1] .. sel)
end
redis.call('DEL', KEYS[1])
return n
