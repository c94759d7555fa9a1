-- Put a token ID on the deny-list and tell every watcher, in one step.
-- KEYS[1] denied zset (jti scored by until, ms)
-- ARGV[1] jti, ARGV[2] until (ms), ARGV[3] now (ms), ARGV[4] channel
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
local u = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[4], 'd ' .. u .. ' 0 ' .. ARGV[1])
return 1
