-- Every revocation in force at now: {userID, until, version, ...}, {jti, until, ...}.
-- KEYS[1] versions hash, KEYS[2] bumps zset, KEYS[3] denied zset; ARGV[1] now (ms)
local b = redis.call('ZRANGE', KEYS[2], ARGV[1], '+inf', 'BYSCORE', 'WITHSCORES')
local vers = {}
for i = 1, #b, 2 do
  vers[#vers + 1] = b[i]
  vers[#vers + 1] = b[i + 1]
  vers[#vers + 1] = redis.call('HGET', KEYS[1], b[i]) or '0'
end
return {vers, redis.call('ZRANGE', KEYS[3], ARGV[1], '+inf', 'BYSCORE', 'WITHSCORES')}
