-- Raise a user's token version and tell every watcher, in one step.
-- KEYS[1] versions hash, KEYS[2] bumps zset (userID scored by until, ms)
-- ARGV[1] userID, ARGV[2] until (ms), ARGV[3] now (ms), ARGV[4] channel
local v = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])
redis.call('ZADD', KEYS[2], 'GT', ARGV[2], ARGV[1])
local u = redis.call('ZSCORE', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[4], 'v ' .. u .. ' ' .. v .. ' ' .. ARGV[1])
return v
