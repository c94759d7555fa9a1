-- The version a tag has now, made up (ARGV[1]) if it has none, for an
-- entry about to be written under the tag; the entry's key is added to
-- the tag's index, which forgets expired entries.
--
-- KEYS[1]: the tag's version; KEYS[2]: its index (zset: entry key -> expiry ms)
-- ARGV[1]: a fresh version; ARGV[2]: the entry's Redis key; ARGV[3]: its ttl in ms
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
local v = redis.call('GET', KEYS[1])
if not v then
  v = ARGV[1]
  redis.call('SET', KEYS[1], v, 'PX', ttl)
elseif redis.call('PTTL', KEYS[1]) < ttl then
  -- the version must outlive every entry written under it
  redis.call('PEXPIRE', KEYS[1], ttl)
end
redis.call('ZADD', KEYS[2], now + ttl, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('PTTL', KEYS[2]) < ttl then
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return v
