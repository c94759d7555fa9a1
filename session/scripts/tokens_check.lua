-- A user's token version and whether a token ID is denied.
-- KEYS[1] versions hash, KEYS[2] denied zset; ARGV[1] userID, ARGV[2] jti, ARGV[3] now (ms)
local v = redis.call('HGET', KEYS[1], ARGV[1]) or '0'
local u = redis.call('ZSCORE', KEYS[2], ARGV[2])
local denied = 0
if u and tonumber(u) >= tonumber(ARGV[3]) then denied = 1 end
return {v, denied}
