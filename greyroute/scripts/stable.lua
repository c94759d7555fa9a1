-- SetStable: ARGV 4 version. Making the rollout's target stable completes
-- the rollout: it is cleared, so that no tenant is sent back to the old
-- stable version by a leftover bucket split.
local version = ARGV[4]
local dirty = false
if redis.call('HGET', route, 'stable') ~= version then
  redis.call('HSET', route, 'stable', version)
  dirty = true
end
if redis.call('HGET', route, 'rollout_to') == version then
  redis.call('HDEL', route, 'rollout_to', 'rollout_bp', 'rollout_since')
  dirty = true
end
if dirty then
  return {'ok', changed()}
end
return {'ok', rev()}
