-- Invalidates a tag: gives it a new version, so that every entry written
-- under the old one is stale from this instant on, and returns (and
-- forgets) the keys of those entries, for deleting.
--
-- KEYS[1]: the tag's version; KEYS[2]: its index
-- ARGV[1]: the new version; ARGV[2]: its ttl in ms, should the tag have none
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
else
  -- so that the next entry under the tag gets the version instances now know
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
local keys = redis.call('ZRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
return keys
