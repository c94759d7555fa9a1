-- SetRollout: ARGV 4 target version, 5 basis points (0 clears). The
-- stable version is read here, so the target is compared with the stable
-- version as it is when the rollout is set.
--
-- rollout_since is the rev at which the rollout's target was set: it
-- names one rollout, so that one ended and started again to the same
-- version is another (auto-rollback's window and compare-and-set,
-- rollback.lua). A change of its share alone keeps it.
local to, bp = ARGV[4], tonumber(ARGV[5])
if bp == 0 then
  if redis.call('HDEL', route, 'rollout_to', 'rollout_bp', 'rollout_since') == 0 then
    return {'ok', rev()}
  end
  return {'ok', changed()}
end
local stable = redis.call('HGET', route, 'stable')
if not stable then
  return {'nostable', rev()}
end
if stable == to then
  return {'same', rev()}
end
local same = redis.call('HGET', route, 'rollout_to') == to
if same and tonumber(redis.call('HGET', route, 'rollout_bp') or '-1') == bp then
  return {'ok', rev()}
end
redis.call('HSET', route, 'rollout_to', to, 'rollout_bp', bp)
local r = changed()
if not same then
  redis.call('HSET', route, 'rollout_since', r)
end
return {'ok', r}
