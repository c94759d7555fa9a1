-- SetRollout: ARGV 4 target version, 5 basis points (0 clears). The
-- stable version is read here, so the target is compared with the stable
-- version as it is when the rollout is set.
local to, bp = ARGV[4], tonumber(ARGV[5])
if bp == 0 then
  if redis.call('HDEL', route, 'rollout_to', 'rollout_bp') == 0 then
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
if redis.call('HGET', route, 'rollout_to') == to and
   tonumber(redis.call('HGET', route, 'rollout_bp') or '-1') == bp then
  return {'ok', rev()}
end
redis.call('HSET', route, 'rollout_to', to, 'rollout_bp', bp)
return {'ok', changed()}
